"""The lifecycle of incidents that end on a final event (a system cancellation, an early end, a
double charge, a payment failure after the trip): nothing later clears them, so they resolve
themselves once handled, `resolve_after` (the rule's, else `policy.RESOLVE_AFTER_S`) after
they opened.

Handled means the passenger's opening message is no longer on its way (a due case whose
opening is still queued or being sent waits `WAIT_FOR_OPENING_MS` more) and, when on-call was
paged, a person acknowledged the case (until then it is looked at every `WAIT_FOR_PERSON_MS`):
time alone never stands a page down. Resolving goes
through the incident store (`core/incident_store.py`) when the incident is recorded there,
so the board shows it resolved too, and then through `Outreach.on_incident`, so the case
resolves, pages are resolved, and the closing message and survey go out like for any
incident that clears. The timer (`tw:cases:lifecycle`) is written with the case, so a restart
keeps it; a replayed tick finds the case resolved and does nothing.
"""

from __future__ import annotations

import logging

import msgspec

from core import names
from core.clock import span
from core.incident_store import IncidentStore
from core.incidents import IncidentChange
from notifiers.cases import CaseStore
from notifiers.engine import Outreach, conversation_key
from notifiers.model import Case, IncidentView, decode_conversation
from notifiers.outbox import Outbox

log = logging.getLogger(__name__)

WAIT_FOR_OPENING_MS = 5_000
WAIT_FOR_PERSON_MS = 60_000
IN_FLIGHT = ("queued", "sending")


async def resolve_due(outreach: Outreach, limit: int = 100) -> int:
    """Resolve every final-event incident whose time is up; returns how many were due."""
    now = outreach.clock()
    due = await outreach.redis.zrangebyscore(names.CASES_LIFECYCLE, "-inf", now, start=0, num=limit)
    for raw_id in due:
        await resolve_case(outreach, raw_id.decode(), now)
    return len(due)


async def resolve_case(outreach: Outreach, case_id: str, now: int) -> None:
    redis = outreach.redis
    case = await CaseStore(redis).get(case_id)
    raw_conv = await redis.get(conversation_key(case_id))
    if (
        case is None
        or raw_conv is None
        or case.resolve_due_at is None
        or case.state not in ("open", "acknowledged")
    ):
        await redis.zrem(names.CASES_LIFECYCLE, case_id)
        return
    wait_ms = await _not_handled_yet(outreach, case)
    if wait_ms:
        await redis.zadd(names.CASES_LIFECYCLE, {case_id: now + wait_ms})
        return
    current = decode_conversation(raw_conv).incident
    reason = (
        f"final event handled: resolved by Tripwatch {span((now - case.opened_at) / 1000)} after it opened"
    )
    resolved = await _resolve_in_store(outreach, current, reason, now)
    log.info("incident %s: %s", case_id, reason)
    await outreach.on_incident(resolved)


async def _not_handled_yet(outreach: Outreach, case: Case) -> int:
    """How long to wait before looking again; 0 = handled. On-call paged (or about to be) and
    nobody acknowledged: a person must have it first, the clock never stands a page down."""
    if case.state == "open" and (case.pages or case.page_due_at is not None):
        return WAIT_FOR_PERSON_MS
    return WAIT_FOR_OPENING_MS if await _opening_in_flight(outreach, case) else 0


async def _opening_in_flight(outreach: Outreach, case: Case) -> bool:
    ids = await outreach.redis.zrange(names.OUTBOX_BY_ORDER + case.order_id, 0, -1)
    outbox = Outbox(outreach.redis, 0)
    for raw in ids:
        message_id = raw.decode()
        if message_id.startswith(f"{case.incident_id}:") and message_id.endswith(":open"):
            message = await outbox.get(message_id)
            if message is not None and message.status in IN_FLIGHT:
                return True
    return False


async def _resolve_in_store(outreach: Outreach, current: IncidentView, reason: str, now: int) -> IncidentView:
    """The incident resolved in the incident store (the board's record) when it is there; else
    (or when the store has it resolved already) the last revision outreach saw, resolved."""
    change = IncidentChange(action="resolve", kind=current.kind, order_id=current.order_id, reason=reason)
    stored = await IncidentStore(outreach.redis).apply(change, now)
    if stored is not None and stored.revision > current.revision:
        return msgspec.convert(msgspec.to_builtins(stored), IncidentView)
    return msgspec.structs.replace(
        current, status="resolved", revision=current.revision + 1, resolution=reason
    )
