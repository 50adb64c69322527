"""Signal lost: no telemetry mid-trip for longer than the rule allows (a deadline on the clock)."""

from __future__ import annotations

from pydantic import Field

from core.incidents import IncidentChange
from monitor.detectors.base import Detector, open_change, register
from monitor.trip_state import TripState
from rules.loader import LoadedRule
from rules.params import Params


class SignalLostParams(Params):
    max_silence_s: float = Field(90, gt=0, le=86_400, description="no ping mid-trip for this long")


def last_signal_ts(state: TripState) -> int | None:
    if state.started_ts is None:
        return None
    return max(state.last_ping_ts or 0, state.started_ts)


def silence_deadline(state: TripState, rule: LoadedRule) -> int | None:
    last = last_signal_ts(state)
    if last is None or not state.mid_trip:
        return None
    return last + int(rule.params.max_silence_s * 1000)


def check_deadline(state: TripState, rule: LoadedRule, watermark: int) -> IncidentChange | None:
    due = silence_deadline(state, rule)
    if due is None or watermark < due:
        return None
    ping = state.last_ping
    summary = f"no telemetry mid-trip for {rule.params.max_silence_s:g} s"
    details = {
        "last_ping_ts": state.last_ping_ts,
        "lat": ping.lat if ping else None,
        "lon": ping.lon if ping else None,
        "driver": state.driver,
    }
    return open_change(state, rule, due, summary, details)


def cleared(state: TripState, rule: LoadedRule) -> str | None:
    if state.ended:
        return f"trip ended ({state.end_reason})"
    mark = state.open_incidents.get(rule.rule.kind)
    last = last_signal_ts(state)
    if mark is not None and last is not None and last + rule.params.max_silence_s * 1000 > mark.trigger_ts:
        return "telemetry is back"
    return None


DETECTOR = register(
    Detector(
        name="signal_lost",
        deadline=silence_deadline,
        check_deadline=check_deadline,
        cleared=cleared,
        params=SignalLostParams,
    )
)
