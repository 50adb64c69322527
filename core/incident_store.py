"""Incidents in Redis: the durable record, read by the board and every later step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
import redis.asyncio as aioredis

from core import names
from core.incidents import (
    Incident,
    IncidentChange,
    decode_incident,
    encode_incident,
    incident_id_for,
    transition,
)
from core.replies import as_bytes, as_text, maybe_bytes
from core.supervision import AuditEntry, SupervisorAction, audit_entry, supervise

BeforeCommit = Callable[[Incident], Awaitable[None]]


class IncidentStore:
    """Applies incident changes atomically (WATCH/MULTI) and lists what is open."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def apply(
        self, change: IncidentChange, now_ms: int, before_commit: BeforeCommit | None = None
    ) -> Incident | None:
        """Apply one change; return the new incident, or None when nothing changed.

        `before_commit` runs with the new incident before it is written (to publish it
        first, so that a crash in between repeats the publication rather than losing it).
        """
        key = names.incident_key(incident_id_for(change.order_id, change.kind))

        def compute(raw: bytes | None) -> Incident | None:
            return transition(decode_incident(raw) if raw else None, change, now_ms)

        return await self._update(key, compute, before_commit)

    async def _update(
        self,
        key: str,
        compute: Callable[[bytes | None], Incident | None],
        before_commit: BeforeCommit | None,
        queue_extra: Callable[[aioredis.client.Pipeline, Incident], None] | None = None,
    ) -> Incident | None:
        """Optimistic read-modify-write of one incident (redis-py's `transaction`: redone when a
        supervisor's action or the worker changed it meanwhile); `compute` returns None when there
        is nothing to write."""

        async def attempt(pipe: aioredis.client.Pipeline) -> Incident | None:
            updated = compute(maybe_bytes(await pipe.get(key)))
            if updated is None:
                await pipe.unwatch()  # type: ignore[no-untyped-call]
                return None
            if before_commit is not None:
                await before_commit(updated)
            pipe.multi()  # type: ignore[no-untyped-call]
            if queue_extra is not None:
                queue_extra(pipe, updated)
            self._queue_write(pipe, updated)
            return updated

        result: Incident | None = await self._redis.transaction(attempt, key, value_from_callable=True)
        return result

    @staticmethod
    def _queue_write(pipe: aioredis.client.Pipeline, incident: Incident) -> None:
        encoded = encode_incident(incident)
        pipe.set(names.incident_key(incident.incident_id), encoded)
        pipe.zadd(names.INCIDENTS_ALL, {incident.incident_id: incident.opened_at})
        if incident.status == "resolved":
            pipe.zrem(names.INCIDENTS_OPEN, incident.incident_id)
        else:
            pipe.zadd(names.INCIDENTS_OPEN, {incident.incident_id: incident.detected_at})
        pipe.publish(names.INCIDENT_CHANGES, encoded)
        history = names.incident_history_key(incident.order_id)
        pipe.rpush(history, encoded)
        pipe.ltrim(history, -HISTORY_MAX, -1)
        pipe.expire(history, HISTORY_RETENTION_S)

    async def act(
        self, action: SupervisorAction, now_ms: int, before_commit: BeforeCommit | None = None
    ) -> Incident | None:
        """Apply a supervisor's action atomically, with its board annotation and audit entry.

        `before_commit` as in `apply` (the board publishes the change on the `incidents` topic).
        Returns the new incident, or None when it changed nothing. Raises `KeyError` for an
        unknown incident and `ActionRefused` when the action does not apply.
        """

        def compute(raw: bytes | None) -> Incident | None:
            if raw is None:
                raise KeyError(action.incident_id)
            return supervise(decode_incident(raw), action, now_ms)

        def queue_extra(pipe: aioredis.client.Pipeline, updated: Incident) -> None:
            _queue_annotation(pipe, action, now_ms)
            queue_audit(pipe, audit_entry(action, updated.order_id, now_ms))

        return await self._update(names.incident_key(action.incident_id), compute, before_commit, queue_extra)

    async def board_annotations(self, incident_ids: list[str]) -> list[dict[str, str]]:
        """Owner, acknowledger and last note of each incident (empty dict when none)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for incident_id in incident_ids:
                pipe.hgetall(names.incident_board_key(incident_id))
            rows = await pipe.execute()
        return [{as_text(k): as_text(v) for k, v in row.items()} for row in rows]

    async def get(self, incident_id: str) -> Incident | None:
        raw = await self._redis.get(names.incident_key(incident_id))
        return decode_incident(as_bytes(raw)) if raw else None

    async def open_incidents(self, limit: int = 500) -> list[Incident]:
        ids = await self._redis.zrevrange(names.INCIDENTS_OPEN, 0, limit - 1)
        if not ids:
            return []
        raws = await self._redis.mget([names.incident_key(as_text(i)) for i in ids])
        return [decode_incident(as_bytes(raw)) for raw in raws if raw]


AUDIT_MAX = 10_000
HISTORY_MAX = 200  # incident changes kept per order, for the board's trip view
HISTORY_RETENTION_S = 7 * 24 * 3600
AUDIT_ORDER_MAX = 1_000


def queue_audit(pipe: aioredis.client.Pipeline, entry: AuditEntry) -> None:
    """Queue one audit entry: the global log (newest first) and the order's (oldest first)."""
    encoded = msgspec.json.encode(entry)
    pipe.lpush(names.AUDIT, encoded)
    pipe.ltrim(names.AUDIT, 0, AUDIT_MAX - 1)
    if entry.order_id:
        key = names.audit_order_key(entry.order_id)
        pipe.rpush(key, encoded)
        pipe.ltrim(key, -AUDIT_ORDER_MAX, -1)


def _queue_annotation(pipe: aioredis.client.Pipeline, action: SupervisorAction, now_ms: int) -> None:
    key = names.incident_board_key(action.incident_id)
    match action.action:
        case "acknowledge":
            pipe.hset(key, mapping={"acked_by": action.actor, "acked_at": str(now_ms)})
        case "take":
            pipe.hset(key, mapping={"owner": action.actor, "owned_at": str(now_ms)})
        case "assign":
            pipe.hset(key, mapping={"owner": action.text.strip(), "owned_at": str(now_ms)})
        case "note":
            pipe.hset(key, mapping={"note": action.text, "note_by": action.actor, "note_at": str(now_ms)})
        case "reopen":
            pipe.hdel(key, "acked_by", "acked_at")
