"""Trip delay: the drop-off ETA slips well past the ETA at trip start (or an accepted reroute).

Two triggers: an ETA update that slips by the rule's `slip_s`, and (with `overdue`) the
baseline ETA plus `slip_s` passing on the clock with the trip still under way.
"""

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


class TripDelayParams(Params):
    slip_s: float = Field(600, gt=0, le=86_400, description="latest drop-off ETA past the ETA at start")
    overdue: bool = Field(True, description="also open when ETA at start + slip passes, trip not done")
    reroute_resets_baseline: bool = Field(True, description="an accepted reroute's ETA is the new baseline")


def baseline(state: TripState, rule: LoadedRule) -> int | None:
    """The ETA the trip is measured against: at start, or of the last accepted reroute."""
    if rule.params.reroute_resets_baseline:
        return state.eta_dropoff_base_ts
    return state.eta_dropoff_start_ts


def check_event(state: TripState, rule: LoadedRule, event: Any) -> IncidentChange | None:
    base = baseline(state, rule)
    if state.ended or base is None or state.eta_dropoff_ts is None:
        return None
    slip_ms = state.eta_dropoff_ts - base
    if slip_ms < rule.params.slip_s * 1000:
        return None
    summary = f"drop-off ETA slipped {span(slip_ms / 1000)} past the ETA at trip start"
    details = _details(state, base, "eta_slip", slip_ms)
    return open_change(state, rule, state.eta_dropoff_at or event.ts, summary, details)


def overdue_deadline(state: TripState, rule: LoadedRule) -> int | None:
    base = baseline(state, rule)
    if not rule.params.overdue or not state.mid_trip or base is None:
        return None
    return base + int(rule.params.slip_s * 1000)


def check_deadline(state: TripState, rule: LoadedRule, watermark: int) -> IncidentChange | None:
    due = overdue_deadline(state, rule)
    if due is None or watermark < due:
        return None
    slip_ms = int(rule.params.slip_s * 1000)
    summary = f"trip still under way {span(slip_ms / 1000)} after the ETA at trip start"
    return open_change(state, rule, due, summary, _details(state, due - slip_ms, "overdue", slip_ms))


def cleared(state: TripState, rule: LoadedRule) -> str | None:
    return f"trip ended ({state.end_reason})" if state.ended else None


def _details(state: TripState, base: int, trigger: str, slip_ms: int) -> dict[str, Any]:
    return {
        "trigger": trigger,
        "eta_baseline_ts": base,
        "eta_dropoff_ts": state.eta_dropoff_ts,
        "slip_s": slip_ms // 1000,
        "driver": state.driver,
    }


DETECTOR = register(
    Detector(
        name="trip_delay",
        events=(models.TripStarted, models.TripEtaUpdated, models.TripRerouted),
        check_event=check_event,
        deadline=overdue_deadline,
        check_deadline=check_deadline,
        cleared=cleared,
        params=TripDelayParams,
    )
)
