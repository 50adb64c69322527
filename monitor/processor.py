"""The per-trip decision logic, free of faust: events and deadlines in, incident changes out.

`TripProcessor` is called by the faust agent (and by tests, directly). It folds each
event into the trip state, asks the detectors what changed, and says which deadlines
the trip now has, so the wiring can schedule them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor import models
from monitor.detectors import pickup_delay
from monitor.incidents import IncidentChange
from monitor.trip_state import TripState, apply_trip_event
from rules.loader import RuleSet


@dataclass
class Outcome:
    """What one event or deadline did to a trip."""

    changes: list[IncidentChange] = field(default_factory=list)
    state_changed: bool = False  # the table must be written: a restart needs this


class TripProcessor:
    def __init__(self, rules: RuleSet, dedup_window: int = 256) -> None:
        self.rules = rules
        self.dedup_window = dedup_window

    def on_trip_event(self, state: TripState, event: models.AnyTripEvent) -> Outcome:
        if not state.remember_event(event.event_id, self.dedup_window):
            return Outcome()
        apply_trip_event(state, event)
        outcome = Outcome(state_changed=True)
        for rule in self.rules.for_detector(pickup_delay.DETECTOR):
            if isinstance(event, models.DriverAssigned | models.DriverEtaUpdated):
                self._add(outcome, state, pickup_delay.check_eta(state, rule, event.ts))
            self._resolve_if_cleared(outcome, state, rule.rule.kind, pickup_delay.check_cleared(state))
        self._refresh_deadlines(state)
        return outcome

    def on_clock(self, state: TripState, now_ms: int) -> Outcome:
        """The wall clock reached one of the trip's deadlines."""
        outcome = Outcome()
        for rule in self.rules.for_detector(pickup_delay.DETECTOR):
            self._add(outcome, state, pickup_delay.check_deadline(state, rule, now_ms))
        self._refresh_deadlines(state)
        return outcome

    def next_deadline(self, state: TripState) -> int | None:
        return min(state.deadlines.values(), default=None)

    def _refresh_deadlines(self, state: TripState) -> None:
        deadlines: dict[str, int] = {}
        for rule in self.rules.for_detector(pickup_delay.DETECTOR):
            due = pickup_delay.pickup_deadline(state, rule)
            if due is not None and rule.rule.kind not in state.open_incidents:
                deadlines[f"{rule.id}:{pickup_delay.DEADLINE}"] = due
        state.deadlines = deadlines

    @staticmethod
    def _add(outcome: Outcome, state: TripState, change: IncidentChange | None) -> None:
        if change is None:
            return
        outcome.changes.append(change)
        if change.kind not in state.open_incidents:
            state.open_incidents.append(change.kind)
            outcome.state_changed = True

    @staticmethod
    def _resolve_if_cleared(outcome: Outcome, state: TripState, kind: str, reason: str | None) -> None:
        if reason is None or kind not in state.open_incidents:
            return
        state.open_incidents.remove(kind)
        outcome.state_changed = True
        outcome.changes.append(
            IncidentChange(action="resolve", kind=kind, order_id=state.order_id, reason=reason)
        )
