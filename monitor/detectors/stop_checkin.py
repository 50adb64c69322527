"""Stop check-in: the car has stood still mid-trip for a while, and the traffic around it is
moving. A quiet "all well?" to the passenger, long before `long_stop`.

The stop is tracked like `long_stop`'s (same notion of stationary, under this rule's own
id). On the planned route it asks after `after_s`; beside the route after the shorter
`off_route_after_s`: a car stopped off its route is suspicious sooner, and `long_stop`
pages at its `min_duration_s` (3 min) there, about when a worried passenger would call, so
the passenger hears from us first (the `long_stop` that follows on the same stop names this
check-in in `details.follows`, and counts its message as our first word: docs/told-first.md).
A stop in a jam is silent: a ping of the stop found at least
`jam_min_cars` other cars within 300 m held up (`jam_slow_share` of those seen), from the
worker's traffic grid (`monitor/traffic.py`: on its road, going its way, held up now and since
before it slowed or soon after); an ETA from the platform that slipped during
the stop counts as one such car. No cars seen near means no evidence of a jam: the
check-in goes (safety first). The incident is `high`, not critical: no page at once; no
answer or "help" pages (outreach), and `long_stop` still opens at its own threshold. None while
a critical incident is open, nor while the signal is lost (`signal_lost` has its own check-in).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core import models
from core.clock import span
from core.incidents import IncidentChange
from monitor.detectors import long_stop
from monitor.detectors.base import Detector, open_change, register
from monitor.trip_state import Stop, TripState
from rules.loader import LoadedRule
from rules.params import Params


class StopCheckinParams(Params):
    after_s: float = Field(180, gt=0, le=86_400, description="a stop on the route this long: soft check-in")
    off_route_after_s: float = Field(90, gt=0, le=86_400, description="a stop beside the route this long")
    max_speed_kmh: float = Field(3, ge=0, le=50, description="stationary: this slow or slower")
    radius_m: float = Field(30, gt=0, le=1000, description="and within this of where the stop began")
    on_route_m: float = Field(40, ge=0, le=1000, description="a stop this near the route is on it")
    dropoff_radius_m: float = Field(200, ge=0, le=50_000, description="a stop this near drop-off is fine")
    jam_min_cars: int = Field(2, ge=1, le=100, description="other cars within 300 m held up: a jam")
    jam_slow_share: float = Field(0.5, gt=0, le=1, description="and at least this share of them")
    eta_counts_as_car: bool = Field(True, description="an ETA slipped during the stop counts as one car")


SIGNAL_LOST = "signal_lost"  # monitor/detectors/signal_lost.py
ETA_BEFORE_STOP_MS = 60_000  # an ETA sent this shortly before the stop began is about it too


def check_event(state: TripState, rule: LoadedRule, event: Any) -> IncidentChange | None:
    """Track the stop (as long_stop does) and whether the traffic around it is held up."""
    long_stop.check_event(state, rule, event)
    stop = state.stops.get(rule.id)
    if stop is not None and stop.jam_ts is None and _in_a_jam(state, rule, stop):
        stop.jam_ts = event.ts
    return None


def _in_a_jam(state: TripState, rule: LoadedRule, stop: Stop) -> bool:
    sample = state.traffic  # taken at most every 15 s: any taken during this stop counts
    if sample is None or sample.ts < stop.since_ts:
        return False
    params = rule.params
    witnesses = sample.slow + (1 if params.eta_counts_as_car and _eta_slipped(state, stop) else 0)
    seen = sample.cars + (witnesses - sample.slow)
    return witnesses >= params.jam_min_cars and witnesses >= params.jam_slow_share * seen


def _eta_slipped(state: TripState, stop: Stop) -> bool:
    """The platform moved the drop-off ETA later around the time the car stopped."""
    if state.eta_dropoff_at is None or state.eta_dropoff_ts is None or state.eta_dropoff_base_ts is None:
        return False
    recent = state.eta_dropoff_at >= stop.since_ts - ETA_BEFORE_STOP_MS
    return recent and state.eta_dropoff_ts > state.eta_dropoff_base_ts


def checkin_deadline(state: TripState, rule: LoadedRule) -> int | None:
    stop = state.stops.get(rule.id)
    if stop is None or stop.jam_ts is not None:
        return None
    if not state.mid_trip or long_stop._near_dropoff(state, stop, rule):
        return None
    if state.dominant is not None:
        return None  # a critical alert (SOS, crash, long stop) is out already: a softer question adds nothing
    if SIGNAL_LOST in state.open_incidents:
        return None  # we do not see the car stand, and the lost signal's own check-in is out
    after_s = rule.params.after_s if stop.on_route else rule.params.off_route_after_s
    return stop.since_ts + int(after_s * 1000)


def check_deadline(state: TripState, rule: LoadedRule, watermark: int) -> IncidentChange | None:
    due = checkin_deadline(state, rule)
    if due is None or watermark < due:
        return None
    stop = state.stops[rule.id]
    sample = state.traffic
    where = "on the route" if stop.on_route else "beside the route"
    summary = f"car stopped {where} for {span((due - stop.since_ts) / 1000)}, traffic moving: check-in"
    details = {
        **long_stop.stop_details(state, stop),
        "cars_near": sample.cars if sample else 0,
        "cars_held_up": sample.slow if sample else 0,
    }
    return open_change(state, rule, due, summary, details)


def cleared(state: TripState, rule: LoadedRule) -> str | None:
    if state.ended:
        return f"trip ended ({state.end_reason})"
    return None if rule.id in state.stops else "the car is moving again"


DETECTOR = register(
    Detector(
        name="stop_checkin",
        events=(models.TelemetryPing,),
        check_event=check_event,
        deadline=checkin_deadline,
        check_deadline=check_deadline,
        cleared=cleared,
        params=StopCheckinParams,
    )
)
