"""The durable outbox in Redis: queue, claim with a lease, record each attempt's outcome.

A message is one JSON document (`tw:outbox:msg:<id>`, the id is its idempotency key) and
one entry in a queue ZSET scored by its next attempt time; critical messages have their
own queue, always drained first. Enqueueing is SET NX + ZADD in one script, so enqueueing
the same message twice queues it once. A claim moves the entry a lease into the future:
if the claimer dies, the message comes back when the lease runs out, still marked
`sending`, and the dispatcher asks the provider whether it went out before sending again.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from core import names
from core.replies import as_bytes
from notifiers.helpdesk import delivery_export, export_message
from notifiers.model import Case, OutboundMessage, TimelineEntry, decode_message, encode

QUEUES = (names.OUTBOX_CRITICAL, names.OUTBOX_NORMAL)
PROVIDER_ID_TTL_S = 7 * 86_400  # receipts come within minutes; a week is plenty

ENQUEUE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  return 1
end
return 0
"""

CLAIM = """
local now = tonumber(ARGV[1])
for i, queue in ipairs(KEYS) do
  local ids = redis.call('ZRANGEBYSCORE', queue, '-inf', now, 'LIMIT', 0, 1)
  if #ids > 0 then
    redis.call('ZADD', queue, now + tonumber(ARGV[2]), ids[1])
    return ids[1]
  end
end
return false
"""


def message_key(message_id: str) -> str:
    return names.OUTBOX_MESSAGE + message_id


def queue_of(message: OutboundMessage) -> str:
    return names.OUTBOX_CRITICAL if message.priority == "critical" else names.OUTBOX_NORMAL


def timeline_key(case_id: str) -> str:
    return names.CASE_TIMELINE + case_id


def queue_message(pipe: aioredis.client.Pipeline, message: OutboundMessage, due_ms: int) -> None:
    """Queue `message` inside the caller's transaction; a second time is a no-op."""
    keys = [message_key(message.message_id), queue_of(message)]
    pipe.eval(ENQUEUE, 2, *keys, encode(message), due_ms, message.message_id)
    if message.order_id:
        pipe.zadd(names.OUTBOX_BY_ORDER + message.order_id, {message.message_id: message.created_at})


def queue_export(pipe: aioredis.client.Pipeline, case: Case, entries: list[TimelineEntry], url: str) -> None:
    """Queue the helpdesk export of this case change inside the caller's MULTI; no URL, no export."""
    if url:
        message = export_message(case, entries, url)
        queue_message(pipe, message, message.created_at)


def queue_delivery_export(
    pipe: aioredis.client.Pipeline, message: OutboundMessage, entry: TimelineEntry, url: str, tag: str = ""
) -> None:
    """Queue the helpdesk export of one delivery result of a case's message (notifiers/helpdesk.py)."""
    export = delivery_export(message, entry, url, tag)
    if export is not None:
        queue_message(pipe, export, entry.at)


def add_timeline(pipe: aioredis.client.Pipeline, case_id: str | None, entry: TimelineEntry) -> None:
    if case_id:
        pipe.rpush(timeline_key(case_id), encode(entry))


class Outbox:
    def __init__(self, redis: aioredis.Redis, lease_ms: int) -> None:
        self.redis = redis
        self.lease_ms = lease_ms

    async def claim(self, now_ms: int) -> OutboundMessage | None:
        """The next due message (critical first), leased to the caller; None when none is due."""
        while True:
            message_id = await self.redis.eval(CLAIM, len(QUEUES), *QUEUES, now_ms, self.lease_ms)
            if message_id is None:
                return None
            message_id = message_id.decode() if isinstance(message_id, bytes) else message_id
            message = await self.get(message_id)
            if message is not None and message.status in ("queued", "sending"):
                return message
            await self.redis.zrem(names.OUTBOX_NORMAL, message_id)  # finished or vanished: stale entry
            await self.redis.zrem(names.OUTBOX_CRITICAL, message_id)

    async def get(self, message_id: str) -> OutboundMessage | None:
        raw = await self.redis.get(message_key(message_id))
        return decode_message(as_bytes(raw)) if raw else None

    async def save(self, message: OutboundMessage) -> None:
        await self.redis.set(message_key(message.message_id), encode(message))

    async def postpone(self, message: OutboundMessage, due_ms: int) -> None:
        await self.redis.zadd(queue_of(message), {message.message_id: due_ms})

    async def finish(
        self,
        message: OutboundMessage,
        due_ms: int | None,
        entry: TimelineEntry | None,
        now_ms: int,
        helpdesk_url: str = "",
    ) -> None:
        """Store the outcome; requeue at `due_ms`, or take it off the queue (sent, dead, unknown).
        A timeline entry is also exported to the helpdesk (delivery results and dead letters)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(message_key(message.message_id), encode(message))
            if due_ms is None:
                pipe.zrem(queue_of(message), message.message_id)
            else:
                pipe.zadd(queue_of(message), {message.message_id: due_ms})
            if message.status == "dead":
                pipe.zadd(names.OUTBOX_DEAD, {message.message_id: now_ms})
            elif message.status == "unknown":
                pipe.zadd(names.OUTBOX_UNKNOWN, {message.message_id: now_ms})
            elif message.status == "sent":
                pipe.zadd(names.OUTBOX_SENT, {message.message_id: now_ms})
                if message.provider_id:  # a delivery receipt names the provider's id
                    pipe.set(
                        names.OUTBOX_BY_PROVIDER_ID + message.provider_id,
                        message.message_id,
                        ex=PROVIDER_ID_TTL_S,
                    )
            if entry is not None:
                add_timeline(pipe, message.case_id, entry)
                queue_delivery_export(pipe, message, entry, helpdesk_url)
            await pipe.execute()

    async def pending(self) -> int:
        return sum([await self.redis.zcard(queue) for queue in QUEUES])
