"""A stop check-in escalated by outreach: the worker is asked to raise the critical `long_stop` now.

The soft check-in (`stop_checkin`) asks the passenger "all well?". "Help", or no answer within
`CHECKIN_TIMEOUT_S`, must not wait for `long_stop`'s own threshold: outreach publishes a
`StopEscalation` on `names.CHECKIN_ESCALATIONS`, keyed by `order_id`, and the worker that owns
the trip opens `long_stop` through its usual path (rule judged, the check-in made subordinate,
resolved when the car moves on). Why a request rather than outreach writing the incident
itself: the trip's state stays the one place that knows which incidents are open, so the
detector's own `long_stop` later, a second request or a replay change nothing, and the car
moving on resolves it as it resolves every `long_stop`.

Delivery is at least once: `event_id` is one per check-in incident and stop, and the worker
remembers it (and marks the stop as escalated), so a repeat is harmless.
"""

from __future__ import annotations

import msgspec

HELP = "passenger asked for help"


def no_answer(timeout_s: float) -> str:
    minutes = timeout_s / 60
    said = f"{minutes:g} min" if timeout_s >= 60 and minutes == int(minutes) else f"{timeout_s:g} s"
    return f"no answer in {said}"


class StopEscalation(msgspec.Struct, kw_only=True, frozen=True):
    """Outreach's request: open the critical `long_stop` of `order_id` now, for `reason`."""

    event_id: str  # `<check-in incident id>:<stopped_since_ts>:escalated`: one per stop asked about
    order_id: str
    ts: int  # wall-clock ms outreach decided
    checkin_incident_id: str
    reason: str  # HELP, or no_answer(...)
    stopped_since_ts: int | None = None  # the stop the passenger was asked about (the check-in's facts)
    lat: float | None = None
    lon: float | None = None


def escalation_id(checkin_incident_id: str, stopped_since_ts: int | None) -> str:
    return f"{checkin_incident_id}:{stopped_since_ts or 0}:escalated"


def encode_escalation(request: StopEscalation) -> bytes:
    return msgspec.json.encode(request)


def decode_escalation(raw: bytes) -> StopEscalation:
    """Raises `msgspec.DecodeError` (or `ValidationError`, a subclass) for anything else."""
    return msgspec.json.decode(raw, type=StopEscalation)
