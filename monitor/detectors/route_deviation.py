"""Route deviation: the car stays far from the planned route for a sustained time.

A ping is *off* the route when even the near edge of its accuracy circle is further than
`off_route_m` from the polyline, *on* it when its reported position is within `off_route_m`;
in between it is ambiguous and neither starts nor ends a streak. A streak of off pings
that lasts `sustain_s` and counts `min_pings` opens the incident: one noisy ping never
does. It is critical at night (local hours of the trip's city) or when the car has moved
`away_from_destination_m` further from the drop-off during the streak. An accepted
`trip.rerouted` replaces the plan (and ends the streak).
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, field_validator

from core import geo, models
from core.incidents import SEVERITY_RANK, IncidentChange
from monitor.detectors.base import Detector, open_change, register
from monitor.trip_state import OffRoute, Ping, TripState, entries
from rules.context import zone_info
from rules.loader import LoadedRule
from rules.model import Severity
from rules.params import Params, known_zone


class RouteDeviationParams(Params):
    off_route_m: float = Field(150, gt=0, le=50_000, description="distance beyond GPS accuracy")
    sustain_s: float = Field(45, ge=0, le=86_400, description="off route at least this long")
    min_pings: int = Field(3, ge=1, le=64, description="and for at least this many pings")
    max_accuracy_m: float = Field(100, gt=0, description="pings less accurate than this are ignored")
    away_from_destination_m: float = Field(300, gt=0, description="growth of distance to drop-off")
    night_start_hour: int = Field(22, ge=0, le=23)
    night_end_hour: int = Field(6, ge=0, le=23)
    city_timezones: dict[str, str] = {}
    default_timezone: str = "UTC"
    critical_severity: Severity = "critical"

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        known_zone(value)
        return value

    @field_validator("city_timezones")
    @classmethod
    def _known_zones(cls, value: dict[str, str]) -> dict[str, str]:
        for zone in value.values():
            known_zone(zone)
        return value


MAX_STREAK_PINGS = 64


def check_event(state: TripState, rule: LoadedRule, event: Any) -> IncidentChange | None:
    if not isinstance(event, models.TelemetryPing):
        return None
    if not state.mid_trip or not state.route or event.ts < (state.route_at or 0):
        return None
    accuracy = event.accuracy_m or 0.0
    if accuracy > rule.params.max_accuracy_m:
        return None
    ping = Ping(event.ts, event.lat, event.lon, event.speed_kmh, event.accuracy_m)
    distance = geo.distance_to_route_m(ping.point, state.route)
    latest = event.ts >= (state.last_ping_ts or 0)
    if distance - accuracy > rule.params.off_route_m:
        _off(state, rule, ping, distance, latest)
    elif distance <= rule.params.off_route_m:
        _on(state, rule, ping.ts, latest)
    return _decide(state, rule, ping.ts, distance)


def _off(state: TripState, rule: LoadedRule, ping: Ping, distance: float, latest: bool) -> None:
    streak = state.off_route.get(rule.id)
    to_dropoff = geo.distance_m(ping.point, state.dropoff) if state.dropoff else None
    if streak is None:
        if latest:  # a late off ping after an on ping is history, not a new streak
            state.off_route = entries(state.off_route)
            state.off_route[rule.id] = OffRoute(
                since_ts=ping.ts,
                ping_ts=[ping.ts],
                start_dropoff_m=to_dropoff,
                last_dropoff_m=to_dropoff,
                max_distance_m=distance,
            )
        return
    if ping.ts < streak.since_ts or ping.ts in streak.ping_ts:
        return
    bisect.insort(streak.ping_ts, ping.ts)
    del streak.ping_ts[:-MAX_STREAK_PINGS]
    streak.max_distance_m = max(streak.max_distance_m, distance)
    if latest:
        streak.last_dropoff_m = to_dropoff


def _on(state: TripState, rule: LoadedRule, ts: int, latest: bool) -> None:
    streak = state.off_route.get(rule.id)
    if streak is None or ts < streak.since_ts:
        return
    later = [t for t in streak.ping_ts if t > ts]
    if latest or not later:
        del state.off_route[rule.id]  # back on the route
        return
    streak.since_ts, streak.ping_ts = later[0], later  # a late on ping splits the streak


def _decide(state: TripState, rule: LoadedRule, ts: int, distance: float) -> IncidentChange | None:
    streak = state.off_route.get(rule.id)
    if streak is None or len(streak.ping_ts) < rule.params.min_pings:
        return None
    duration_ms = streak.ping_ts[-1] - streak.since_ts
    if duration_ms < rule.params.sustain_s * 1000:
        return None
    trigger_ts = streak.ping_ts[-1]
    night = is_night(state.city, trigger_ts, rule)
    away = _moving_away(streak, rule)
    severity = rule.params.critical_severity if night or away else rule.rule.severity
    current = state.open_incidents.get(rule.rule.kind)
    if current is not None and SEVERITY_RANK[current.severity] >= SEVERITY_RANK[severity]:
        return None  # already open, and nothing worse to say
    reasons = [text for flag, text in ((night, "at night"), (away, "moving away from the drop-off")) if flag]
    summary = f"car {round(streak.max_distance_m)} m off the planned route for {duration_ms // 1000} s"
    if reasons:
        summary += ", " + " and ".join(reasons)
    details = {
        "off_route_since_ts": streak.since_ts,
        "distance_m": round(distance),
        "max_distance_m": round(streak.max_distance_m),
        "night": night,
        "moving_away": away,
        "driver": state.driver,
    }
    return open_change(state, rule, trigger_ts, summary, details, severity)


def _moving_away(streak: OffRoute, rule: LoadedRule) -> bool:
    if streak.start_dropoff_m is None or streak.last_dropoff_m is None:
        return False
    return streak.last_dropoff_m - streak.start_dropoff_m >= rule.params.away_from_destination_m


def is_night(city: str | None, ts: int, rule: LoadedRule) -> bool:
    """Whether `ts` falls in the rule's night hours, in the city's local time."""
    zone = zone_info(zone_of(city, rule))
    hour = datetime.fromtimestamp(ts / 1000, tz=UTC).astimezone(zone).hour
    start, end = rule.params.night_start_hour, rule.params.night_end_hour
    if start <= end:
        return start <= hour < end
    return hour >= start or hour < end


def zone_of(city: str | None, rule: LoadedRule) -> str:
    """The city's zone: the rule's own `city_timezones` first, then the rule set's `timezones:`
    (the one city map, rules/pack/cities.yaml), else the rule's `default_timezone`."""
    city = city or ""
    return rule.params.city_timezones.get(city) or rule.timezones.get(city) or rule.params.default_timezone


def cleared(state: TripState, rule: LoadedRule) -> str | None:
    if state.ended:
        return f"trip ended ({state.end_reason})"
    if rule.id in state.off_route:
        return None
    mark = state.open_incidents.get(rule.rule.kind)
    if mark is not None and (state.route_at or 0) > mark.trigger_ts:
        return "the plan was replaced by an accepted reroute"
    return "the car is back on the planned route"


DETECTOR = register(
    Detector(
        name="route_deviation",
        events=(models.TelemetryPing,),
        check_event=check_event,
        cleared=cleared,
        params=RouteDeviationParams,
    )
)
