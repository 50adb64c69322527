"""Pickup delay: no `driver.arrived` by the promise plus grace, or an ETA far past the promise."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core import models
from core.clock import span
from core.incidents import IncidentChange
from monitor.detectors.base import Detector, open_change, register
from monitor.trip_state import TripState
from rules.loader import LoadedRule
from rules.params import Params


class PickupDelayParams(Params):
    grace_s: float = Field(120, ge=0, le=86_400)
    eta_overrun_s: float = Field(300, gt=0, le=86_400)


def pickup_deadline(state: TripState, rule: LoadedRule) -> int | None:
    """When the promise plus grace runs out, or None when nothing is awaited any more."""
    if state.promised_pickup_ts is None or state.arrived_ts is not None or state.ended:
        return None
    return state.promised_pickup_ts + int(rule.params.grace_s * 1000)


def check_event(state: TripState, rule: LoadedRule, event: Any) -> IncidentChange | None:
    if isinstance(event, models.DriverAssigned | models.DriverEtaUpdated):
        return check_eta(state, rule, event.ts)
    return None


def check_eta(state: TripState, rule: LoadedRule, event_ts: int) -> IncidentChange | None:
    """An ETA update that overruns the promise by the rule's threshold opens the incident."""
    if state.promised_pickup_ts is None or state.eta_pickup_ts is None:
        return None
    if state.arrived_ts is not None or state.ended:
        return None
    overrun_ms = state.eta_pickup_ts - state.promised_pickup_ts
    if overrun_ms < rule.params.eta_overrun_s * 1000:
        return None
    summary = f"driver ETA is {span(round(overrun_ms / 60_000) * 60)} past the promised pickup time"
    details = {"trigger": "eta_overrun", "overrun_s": overrun_ms // 1000}
    return _open(state, rule, event_ts, summary, details)


def check_deadline(state: TripState, rule: LoadedRule, now_ms: int) -> IncidentChange | None:
    """The promise plus grace has passed without the driver arriving."""
    due = pickup_deadline(state, rule)
    if due is None or now_ms < due:
        return None
    # The summary depends on the rule, not on the clock, so a re-fired deadline (after a
    # restart) asks for exactly the same incident and changes nothing.
    grace_min = round(rule.params.grace_s / 60, 1)
    summary = f"driver has not arrived {grace_min:g} min after the promised pickup time"
    return _open(state, rule, due, summary, {"trigger": "deadline", "deadline_ts": due})


def check_cleared(state: TripState, rule: LoadedRule | None = None) -> str | None:
    """Why an open pickup delay is over, or None while it is not."""
    if state.arrived_ts is not None:
        return "driver arrived"
    if state.ended:
        return f"order ended ({state.end_reason})"
    return None


def _open(
    state: TripState, rule: LoadedRule, trigger_ts: int, summary: str, extra: dict[str, object]
) -> IncidentChange:
    details = {
        "promised_pickup_ts": state.promised_pickup_ts,
        "eta_pickup_ts": state.eta_pickup_ts,
        "driver": state.driver,
        **extra,
    }
    return open_change(state, rule, trigger_ts, summary, details)


DETECTOR = register(
    Detector(
        name="pickup_delay",
        events=(models.DriverAssigned, models.DriverEtaUpdated),
        check_event=check_event,
        deadline=pickup_deadline,
        check_deadline=check_deadline,
        cleared=check_cleared,
        params=PickupDelayParams,
    )
)
