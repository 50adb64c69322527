"""Safety signals: SOS pressed, and a crash (a sensor's signal or a violent drop in speed).

These incidents stay open until a person resolves them: nothing in the streams proves
that the passenger is safe.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core import models
from core.incidents import IncidentChange
from monitor.detectors.base import Detector, is_open, open_change, register
from monitor.trip_state import Ping, TripState
from rules.loader import LoadedRule
from rules.params import Params


class SosParams(Params):
    signal_types: list[str] = Field(["sos.pressed"], min_length=1)


class CrashSuspectedParams(Params):
    crash_signal: bool = Field(True, description="open on crash.detected")
    from_speed_kmh: float = Field(45, gt=0, le=400, description="speed before the drop, at least")
    to_speed_kmh: float = Field(5, ge=0, le=400, description="speed after the drop, at most")
    min_decel_kmh_per_s: float = Field(12, gt=0, description="speed lost per second, at least")
    max_gap_s: float = Field(5, gt=0, le=120, description="consecutive pings at most this far apart")
    confirm_pings: int = Field(1, ge=0, le=8, description="pings after the drop that stay that slow")


def check_sos(state: TripState, rule: LoadedRule, event: Any) -> IncidentChange | None:
    if not isinstance(event, models.SafetySignal) or event.type not in rule.params.signal_types:
        return None
    summary = f"SOS pressed by the {event.source}"
    details = {"signal": event.type, "source": event.source, "note": event.note, **_where(event)}
    return open_change(state, rule, event.ts, summary, {**details, "driver": state.driver})


def check_crash(state: TripState, rule: LoadedRule, event: Any) -> IncidentChange | None:
    if isinstance(event, models.SafetySignal):
        if event.type != "crash.detected" or not rule.params.crash_signal:
            return None
        summary = f"crash detected ({event.source})"
        details = {"trigger": "crash_signal", "source": event.source, "note": event.note, **_where(event)}
        return open_change(state, rule, event.ts, summary, {**details, "driver": state.driver})
    if isinstance(event, models.TelemetryPing) and not is_open(state, rule) and not state.ended:
        return _speed_drop(state, rule, event.ts)
    return None


def _speed_drop(state: TripState, rule: LoadedRule, ts: int) -> IncidentChange | None:
    """A violent drop next to the ping at `ts`, confirmed by the pings after it."""
    pings = state.pings
    at = next((i for i in range(len(pings) - 1, -1, -1) if pings[i].ts == ts), None)
    if at is None:
        return None
    # the new ping may end a drop, follow one, or confirm one a few pings back
    for index in range(max(1, at - rule.params.confirm_pings), min(len(pings), at + 2)):
        before, after = pings[index - 1], pings[index]
        if _violent(before, after, rule) and _confirmed(pings[index + 1 :], rule):
            summary = (
                f"speed fell from {before.speed_kmh:.0f} to {after.speed_kmh:.0f} km/h "
                f"in {(after.ts - before.ts) / 1000:g} s"
            )
            details = {
                "trigger": "speed_drop",
                "from_kmh": before.speed_kmh,
                "to_kmh": after.speed_kmh,
                "lat": after.lat,
                "lon": after.lon,
                "driver": state.driver,
            }
            return open_change(state, rule, after.ts, summary, details)
    return None


def _violent(before: Ping, after: Ping, rule: LoadedRule) -> bool:
    p = rule.params
    gap_s = (after.ts - before.ts) / 1000
    if gap_s <= 0 or gap_s > p.max_gap_s:
        return False
    if before.speed_kmh < p.from_speed_kmh or after.speed_kmh > p.to_speed_kmh:
        return False
    return (before.speed_kmh - after.speed_kmh) / gap_s >= p.min_decel_kmh_per_s


def _confirmed(following: list[Ping], rule: LoadedRule) -> bool:
    needed = rule.params.confirm_pings
    if len(following) < needed:
        return False
    return all(p.speed_kmh <= rule.params.to_speed_kmh for p in following[:needed])


def _where(event: models.SafetySignal) -> dict[str, Any]:
    return {"lat": event.lat, "lon": event.lon} if event.lat is not None else {}


SOS = register(Detector(name="sos", events=(models.SafetySignal,), check_event=check_sos, params=SosParams))
CRASH = register(
    Detector(
        name="crash_suspected",
        events=(models.SafetySignal, models.TelemetryPing),
        check_event=check_crash,
        params=CrashSuspectedParams,
    )
)
