"""Long stop: the car stationary mid-trip, away from the drop-off, for longer than the rule allows.

Stationary means at most `max_speed_kmh` and within `radius_m` (beyond the GPS accuracy)
of where the stop began: a red light is shorter than the threshold, a slow jam creeps
out of the radius or above the speed. A stop on the planned route (a standing jam) must
last `on_route_duration_s`. The decision is a deadline: it fires on the clock even if
no further ping arrives. When the soft check-in (`stop_checkin`) already asked the passenger
about this very stop, the incident names it in `details.follows`: that message was our first
word about the stop (docs/told-first.md).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core import geo, models
from core.clock import span
from core.incidents import IncidentChange, incident_id_for
from monitor.detectors.base import Detector, open_change, register
from monitor.trip_state import Ping, Stop, TripState, entries
from rules.loader import LoadedRule
from rules.params import Params

CHECKIN_KIND = "stop_checkin"  # monitor/detectors/stop_checkin.py (it imports this module)


class LongStopParams(Params):
    max_speed_kmh: float = Field(3, ge=0, le=50, description="stationary: this slow or slower")
    radius_m: float = Field(30, gt=0, le=1000, description="and within this of where the stop began")
    min_duration_s: float = Field(180, gt=0, le=86_400)
    on_route_duration_s: float = Field(600, gt=0, le=86_400, description="a stop on the route (a jam)")
    on_route_m: float = Field(40, ge=0, le=1000, description="a stop this near the route is on it")
    dropoff_radius_m: float = Field(200, ge=0, le=50_000, description="a stop this near drop-off is fine")


def check_event(state: TripState, rule: LoadedRule, event: Any) -> IncidentChange | None:
    """Track the stop; the incident itself is decided by the deadline."""
    if not isinstance(event, models.TelemetryPing) or not state.mid_trip:
        return None
    if event.ts < (state.started_ts or 0):
        return None
    ping = Ping(event.ts, event.lat, event.lon, event.speed_kmh, event.accuracy_m)
    stop = state.stops.get(rule.id)
    if event.ts >= (state.last_ping_ts or 0):
        _latest(state, rule, ping, stop)
    elif stop is not None and ping.ts > stop.since_ts and not _stationary(ping, stop, rule):
        stop.since_ts = ping.ts + 1  # a late moving ping: the stop began after it
    return None


def _latest(state: TripState, rule: LoadedRule, ping: Ping, stop: Stop | None) -> None:
    if stop is not None and _stationary(ping, stop, rule):
        stop.last_ts = ping.ts
        return
    if ping.speed_kmh <= rule.params.max_speed_kmh:
        on_route = geo.distance_to_route_m(ping.point, state.route) <= rule.params.on_route_m
        state.stops = entries(state.stops)
        state.stops[rule.id] = Stop(since_ts=ping.ts, anchor=ping.point, last_ts=ping.ts, on_route=on_route)
    elif rule.id in state.stops:
        del state.stops[rule.id]


def _stationary(ping: Ping, stop: Stop, rule: LoadedRule) -> bool:
    if ping.speed_kmh > rule.params.max_speed_kmh:
        return False
    return geo.distance_m(ping.point, stop.anchor) - (ping.accuracy_m or 0.0) <= rule.params.radius_m


def stop_deadline(state: TripState, rule: LoadedRule) -> int | None:
    stop = state.stops.get(rule.id)
    if stop is None or not state.mid_trip or _near_dropoff(state, stop, rule):
        return None
    return stop.since_ts + int(_threshold_s(stop, rule) * 1000)


def check_deadline(state: TripState, rule: LoadedRule, watermark: int) -> IncidentChange | None:
    due = stop_deadline(state, rule)
    if due is None or watermark < due:
        return None
    stop = state.stops[rule.id]
    threshold_ms = int(_threshold_s(stop, rule) * 1000)
    details = stop_details(state, stop)
    summary = f"car stationary mid-trip for {span(threshold_ms / 1000)}"
    if details["dropoff_m"] is not None:
        summary += f", {details['dropoff_m']} m from the drop-off"
    asked = _checkin_on_this_stop(state, stop)
    if asked is not None:
        details["follows"] = [asked]
    return open_change(state, rule, due, summary, details)


def _checkin_on_this_stop(state: TripState, stop: Stop) -> str | None:
    """The open check-in raised during this stop, if any: it spoke to the passenger first."""
    mark = state.open_incidents.get(CHECKIN_KIND)
    if mark is None or mark.trigger_ts < stop.since_ts:
        return None
    return incident_id_for(state.order_id, CHECKIN_KIND)


def cleared(state: TripState, rule: LoadedRule) -> str | None:
    if state.ended:
        return f"trip ended ({state.end_reason})"
    return None if rule.id in state.stops else "the car is moving again"


def _threshold_s(stop: Stop, rule: LoadedRule) -> float:
    return rule.params.on_route_duration_s if stop.on_route else rule.params.min_duration_s


def _near_dropoff(state: TripState, stop: Stop, rule: LoadedRule) -> bool:
    if state.dropoff is None:
        return False
    return geo.distance_m(stop.anchor, state.dropoff) <= rule.params.dropoff_radius_m


DETECTOR = register(
    Detector(
        name="long_stop",
        events=(models.TelemetryPing,),
        check_event=check_event,
        deadline=stop_deadline,
        check_deadline=check_deadline,
        cleared=cleared,
        params=LongStopParams,
    )
)


def stop_details(state: TripState, stop: Stop) -> dict[str, Any]:
    """What an incident about a stop tells: where and since when the car stands, the driver."""
    return {
        "stopped_since_ts": stop.since_ts,
        "lat": stop.anchor[0],
        "lon": stop.anchor[1],
        "on_route": stop.on_route,
        "dropoff_m": round(geo.distance_m(stop.anchor, state.dropoff)) if state.dropoff else None,
        "driver": state.driver,
    }
