"""What every detector is: a name, the events it reads, the model of its `params`, the fields it
adds to a condition's `event`, and four plain functions; and `register`, which makes it known.

- `check_event(state, rule, event)`: the state already holds the event; open or update?
- `deadline(state, rule)`: the event time of the trip's next deadline for this rule, or None.
- `check_deadline(state, rule, watermark)`: the deadline passed (`watermark` is the clock
  minus the allowed lateness): open?
- `cleared(state, rule)`: why an open incident of the rule's kind is over, or None.

A detector module ends with `DETECTOR = register(Detector(...))`; the package imports every
module in it, so a new detector is one new module (docs/detection.md, "Adding a detection kind").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from core import models
from core.incidents import IncidentChange, Severity
from monitor.trip_state import TripState
from rules import fields, params
from rules.fields import Field
from rules.loader import LoadedRule
from rules.params import NoParams

EventCheck = Callable[[TripState, LoadedRule, Any], IncidentChange | None]
DeadlineOf = Callable[[TripState, LoadedRule], int | None]
DeadlineCheck = Callable[[TripState, LoadedRule, int], IncidentChange | None]
Cleared = Callable[[TripState, LoadedRule], str | None]

TRIP_EVENTS: tuple[type, ...] = models.AnyTripEvent.__args__  # type: ignore[attr-defined]


def _no_event(state: TripState, rule: LoadedRule, event: Any) -> IncidentChange | None:
    return None


def _no_deadline(state: TripState, rule: LoadedRule) -> int | None:
    return None


def _no_deadline_check(state: TripState, rule: LoadedRule, watermark: int) -> IncidentChange | None:
    return None


def _never_cleared(state: TripState, rule: LoadedRule) -> str | None:
    return None


@dataclass(frozen=True)
class Detector:
    name: str
    events: tuple[type, ...] = ()
    check_event: EventCheck = _no_event
    deadline: DeadlineOf = _no_deadline
    check_deadline: DeadlineCheck = _no_deadline_check
    cleared: Cleared = _never_cleared
    params: type[BaseModel] = NoParams  # the model a rule's `params` are validated against
    event_fields: Mapping[str, Field] = field(default_factory=dict)  # `event.*` it puts in details

    @property
    def has_deadline(self) -> bool:
        return self.deadline is not _no_deadline

    @property
    def can_clear(self) -> bool:
        return self.cleared is not _never_cleared


# detector name -> detector: what a rule's `detector` names (filled by `register`)
DETECTORS: dict[str, Detector] = {}


def register(detector: Detector) -> Detector:
    """Make `detector` known: to the processor by name, its params model to the rule loader and
    its event fields to conditions. Registering another detector under a known name is an error."""
    known = DETECTORS.setdefault(detector.name, detector)
    if known is not detector:
        raise ValueError(f"two detectors named {detector.name!r}")
    params.register(detector.name, detector.params)
    fields.declare_event_fields(detector.event_fields)
    return detector


def open_change(
    state: TripState,
    rule: LoadedRule,
    trigger_ts: int,
    summary: str,
    details: dict[str, Any],
    severity: Severity | None = None,
) -> IncidentChange:
    """An `open` request for the rule's kind on this trip."""
    return IncidentChange(
        action="open",
        kind=rule.rule.kind,
        order_id=state.order_id,
        passenger_id=state.passenger_id,
        city=state.city,
        rule_id=rule.id,
        rule_version=getattr(rule, "version", "") or rule.rule.version,
        severity=severity or rule.rule.severity,
        trigger_ts=trigger_ts,
        summary=summary,
        details=details,
    )


def is_open(state: TripState, rule: LoadedRule) -> bool:
    return rule.rule.kind in state.open_incidents
