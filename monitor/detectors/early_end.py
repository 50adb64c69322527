"""Early end: `trip.completed` far from the drop-off point.

Judged once the allowed lateness after the completion has passed (a deadline at the
completion time), so a ping that arrives late still counts; the position used is the
last ping at or before the completion, if it is recent enough to say anything.
"""

from __future__ import annotations

from pydantic import Field

from core import geo
from core.incidents import IncidentChange
from monitor.detectors.base import Detector, open_change, register
from monitor.trip_state import Ping, TripState
from rules.loader import LoadedRule
from rules.params import Params


class EarlyEndParams(Params):
    max_distance_m: float = Field(500, gt=0, le=100_000, description="from drop-off at completion")
    max_ping_age_s: float = Field(120, gt=0, le=86_400, description="last ping older: cannot judge")


def completion_deadline(state: TripState, rule: LoadedRule) -> int | None:
    return state.completed_ts if state.dropoff is not None else None


def check_deadline(state: TripState, rule: LoadedRule, watermark: int) -> IncidentChange | None:
    completed = state.completed_ts
    if completed is None or state.dropoff is None or watermark < completed:
        return None
    ping = _last_ping_before(state, completed)
    if ping is None or completed - ping.ts > rule.params.max_ping_age_s * 1000:
        return None
    distance = geo.distance_m(ping.point, state.dropoff) - (ping.accuracy_m or 0.0)
    if distance <= rule.params.max_distance_m:
        return None
    summary = f"trip completed {round(distance)} m from the drop-off point"
    details = {"distance_m": round(distance), "lat": ping.lat, "lon": ping.lon, "driver": state.driver}
    return open_change(state, rule, completed, summary, details)


def _last_ping_before(state: TripState, ts: int) -> Ping | None:
    earlier = [p for p in state.pings if p.ts <= ts]
    return earlier[-1] if earlier else None


DETECTOR = register(
    Detector(
        name="early_end", deadline=completion_deadline, check_deadline=check_deadline, params=EarlyEndParams
    )
)
