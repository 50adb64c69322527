"""What the board reads of outreach (see dashboard/outreach.py): small, read-only functions."""

from __future__ import annotations

from typing import Any

import msgspec
import redis.asyncio as aioredis

from core import names
from notifiers.cases import CaseStore
from notifiers.model import OutboundMessage, decode_message
from notifiers.outbox import message_key

PASSENGER_STEPS = frozenset({"open", "update", "close", "survey"})


async def messages_for_order(redis: aioredis.Redis, order_id: str) -> list[dict[str, Any]]:
    """Every message about the order (passenger messages and pages), oldest first."""
    ids = await redis.zrange(names.OUTBOX_BY_ORDER + order_id, 0, -1)
    if not ids:
        return []
    raws = await redis.mget([message_key(i.decode()) for i in ids])
    messages = [decode_message(raw) for raw in raws if raw]
    return [_row(m) for m in messages if m.step != "export"]


async def last_message(redis: aioredis.Redis, incident_id: str) -> dict[str, Any] | None:
    """The last message queued for the passenger about this incident."""
    order_id = incident_id.rsplit(":", 1)[0]
    rows = await messages_for_order(redis, order_id)
    mine = [r for r in rows if r["incident_id"] == incident_id and r["step"] in PASSENGER_STEPS]
    return mine[-1] if mine else None


async def case_for_order(redis: aioredis.Redis, order_id: str) -> dict[str, Any] | None:
    """The order's latest case, with its timeline."""
    ids = await redis.zrevrange(names.CASES_BY_ORDER + order_id, 0, 0)
    if not ids:
        return None
    store = CaseStore(redis)
    case = await store.get(ids[0].decode())
    if case is None:
        return None
    timeline = [msgspec.to_builtins(entry) for entry in await store.timeline(case.case_id)]
    return {**msgspec.to_builtins(case), "timeline": timeline}


async def shift_counts(redis: aioredis.Redis, since_ms: int) -> dict[str, Any]:
    """Messages delivered, dead-lettered and left unknown (may have arrived) since `since_ms`, and the incidents whose passenger
    heard from us (a delivered passenger message) in that time."""
    sent_ids = [raw.decode() for raw in await redis.zrangebyscore(names.OUTBOX_SENT, since_ms, "+inf")]
    contacted = set()
    for message_id in sent_ids:
        incident_id, _, step = _parts(message_id)
        if step in PASSENGER_STEPS:
            contacted.add(incident_id)
    return {
        "sent": len(sent_ids),
        "failed": await redis.zcount(names.OUTBOX_DEAD, since_ms, "+inf"),
        "unknown": await redis.zcount(names.OUTBOX_UNKNOWN, since_ms, "+inf"),  # may have arrived
        "contacted_first": sorted(contacted),
    }


def _parts(message_id: str) -> tuple[str, str, str]:
    """`<incident_id>:<seq>:<step>` (passenger messages); anything else yields no step."""
    pieces = message_id.rsplit(":", 2)
    return (pieces[0], pieces[1], pieces[2]) if len(pieces) == 3 else (message_id, "", "")


def _row(message: OutboundMessage) -> dict[str, Any]:
    last = message.history[-1] if message.history else None
    body = message.body or str(message.payload.get("payload", {}).get("summary", message.step))
    return {
        "message_id": message.message_id,
        "incident_id": message.incident_id,
        "step": message.step,
        "channel": message.channel,
        "status": message.status,
        "at": last.at if last else message.created_at,
        "queued_at": message.created_at,
        "body": body,
        "error": last.detail if last and last.outcome != "sent" else "",
    }
