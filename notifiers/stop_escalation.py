"""The stop check-in's answer path: "help", or no answer in time, raises the critical `long_stop`.

Paging on-call stays where it was (`engine.escalate_case`); this adds the request to the worker
(`core/checkin.py`) that opens `long_stop` at once. "I'm OK" holds it back: the worker's own
`long_stop` then opens at `on_route_duration_s`, as before. One page for one stop: the page
that goes with a request is critical and leads with the passenger's answer (`page_view`), and
the long_stop it raises takes that page over instead of paging again
(`escalation.Escalation.take_over`); the page never waits for the worker.

The request is written into Redis in the same transaction as the escalation (a durable
outbox: `names.CHECKIN_ESCALATIONS_PENDING`), then sent to the broker and removed once the
broker acknowledged it (`flush`, right after the escalation and on every outreach tick). So the
page never waits for the broker, and a crash or an outage delays the request but never loses it;
sending it twice is harmless (the worker keys it by `event_id`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import msgspec
import redis.asyncio as aioredis

from core import names
from core.checkin import StopEscalation, decode_escalation, encode_escalation, escalation_id
from core.publisher import AckedProducer
from core.replies import as_bytes, as_text
from notifiers.model import Case, IncidentView

log = logging.getLogger(__name__)

CHECKIN_KIND = "stop_checkin"
LONG_STOP_KIND = "long_stop"
SendEscalation = Callable[[StopEscalation], Awaitable[None]]


def request_for(
    case: Case, incident: IncidentView, now: int, reason: str, asked_for_help: bool
) -> StopEscalation | None:
    """The request an escalation of this case makes, or None: only an open, leading stop
    check-in escalates, and on a timeout only while the passenger has not said "I'm OK"."""
    if incident.kind != CHECKIN_KIND or not incident.is_open or incident.subordinate_to:
        return None  # not a check-in, the car moved on, or a critical incident leads already
    if not asked_for_help and (case.state != "open" or case.passenger_ok_at is not None):
        return None  # "I'm OK" (or a person has it): long_stop waits for its own threshold
    since = _int_or_none(incident.details.get("stopped_since_ts"))
    return StopEscalation(
        event_id=escalation_id(incident.incident_id, since),
        order_id=incident.order_id,
        ts=now,
        checkin_incident_id=incident.incident_id,
        reason=reason,
        stopped_since_ts=since,
        lat=_float_or_none(incident.details.get("lat")),
        lon=_float_or_none(incident.details.get("lon")),
    )


def page_view(incident: IncidentView, request: StopEscalation | None) -> IncidentView:
    """The check-in as the page of its escalation shows it: with a long_stop request, critical
    (as the long_stop it raises) and the passenger's answer first. The long_stop takes this page
    over rather than paging again (`escalated_from`): one page for one stop."""
    if request is None:
        return incident
    summary = f"{request.reason}: {incident.summary or incident.kind}"
    return msgspec.structs.replace(incident, severity="critical", summary=summary)


def escalated_from(incident: IncidentView) -> str | None:
    """The stop check-in a long_stop was raised from by its escalation (monitor/checkin_escalation.py)."""
    checkin_id = incident.details.get("escalated_from")
    return checkin_id if incident.kind == LONG_STOP_KIND and isinstance(checkin_id, str) else None


def queue(pipe: aioredis.client.Pipeline, request: StopEscalation) -> None:
    """In the escalation's MULTI: the request waits in Redis until the broker has it."""
    pipe.hset(names.CHECKIN_ESCALATIONS_PENDING, request.event_id, encode_escalation(request))


async def flush(redis: aioredis.Redis, send: SendEscalation | None) -> int:
    """Send every pending request; each is removed once the broker acknowledged it. Returns how
    many were sent. A broker that refuses leaves them pending for the next tick, and raises
    nothing: the reply that escalated is applied (a Twilio retry would page the next level)."""
    if send is None:
        return 0
    pending = await redis.hgetall(names.CHECKIN_ESCALATIONS_PENDING)
    for sent, (raw_id, raw) in enumerate(pending.items()):
        request = decode_escalation(as_bytes(raw))
        try:
            await send(request)
        except Exception as error:  # the broker: an outage, a timeout
            log.warning("%d check-in escalation(s) wait for the broker: %s", len(pending) - sent, error)
            return sent
        await redis.hdel(names.CHECKIN_ESCALATIONS_PENDING, as_text(raw_id))
        log.warning("%s: stop check-in escalated to long_stop (%s)", request.order_id, request.reason)
    return len(pending)


class EscalationPublisher(AckedProducer):
    """Sends each request keyed by `order_id` (the request lands on the trip's partition) and
    waits for the ack."""

    async def __call__(self, request: StopEscalation) -> None:
        await self.send(names.CHECKIN_ESCALATIONS, request.order_id.encode(), encode_escalation(request))


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float_or_none(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
