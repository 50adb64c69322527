"""Cancellations: the driver drops an accepted order (a repeat is worse), or the platform cancels."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core import models
from core.incidents import IncidentChange
from monitor.detectors.base import Detector, open_change, register
from monitor.trip_state import TripState
from rules.loader import LoadedRule
from rules.model import Severity
from rules.params import Params


class DriverCancellationParams(Params):
    repeat_count: int = Field(2, ge=2, le=100, description="this many driver cancellations = a repeat")
    repeat_severity: Severity = "critical"


class SystemCancellationParams(Params):
    pass


def check_driver_cancel(state: TripState, rule: LoadedRule, event: Any) -> IncidentChange | None:
    if not isinstance(event, models.OrderCancelled) or event.cancelled_by != "driver":
        return None
    count = len(state.driver_cancel_ts)
    repeat = count >= rule.params.repeat_count
    if repeat:
        summary = f"driver cancelled the order again ({count} driver cancellations on this order)"
    else:
        summary = "driver cancelled the accepted order"
    details = {"cancellations": count, "reason": event.reason, "driver": state.driver}
    severity = rule.params.repeat_severity if repeat else None
    return open_change(state, rule, state.driver_cancel_ts[-1], summary, details, severity)


def driver_cancel_cleared(state: TripState, rule: LoadedRule) -> str | None:
    last = state.driver_cancel_ts[-1] if state.driver_cancel_ts else None
    if last is None:
        return None
    if state.arrived_ts is not None and state.arrived_ts > last:
        return "a new driver arrived"
    if state.completed_ts is not None:
        return "trip completed"
    return None


def check_system_cancel(state: TripState, rule: LoadedRule, event: Any) -> IncidentChange | None:
    if not isinstance(event, models.OrderCancelled) or event.cancelled_by != "system":
        return None
    reason = f": {event.reason}" if event.reason else ""
    summary = f"the platform cancelled the order{reason}"
    details = {"reason": event.reason, "driver": state.driver}
    return open_change(state, rule, event.ts, summary, details)


DRIVER = register(
    Detector(
        name="driver_cancellation",
        events=(models.OrderCancelled,),
        check_event=check_driver_cancel,
        cleared=driver_cancel_cleared,
        params=DriverCancellationParams,
    )
)
SYSTEM = register(
    Detector(
        name="system_cancellation",
        events=(models.OrderCancelled,),
        check_event=check_system_cancel,
        params=SystemCancellationParams,
    )
)
