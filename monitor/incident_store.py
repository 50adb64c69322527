"""Incidents in Redis: the durable record, read by the board and every later step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from monitor import names
from monitor.incidents import (
    Incident,
    IncidentChange,
    decode_incident,
    encode_incident,
    incident_id_for,
    transition,
)

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
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    current = decode_incident(raw) if raw else None
                    updated = transition(current, change, now_ms)
                    if updated is None:
                        await pipe.unwatch()
                        return None
                    if before_commit is not None:
                        await before_commit(updated)
                    pipe.multi()
                    self._queue_write(pipe, updated)
                    await pipe.execute()
                    return updated
                except WatchError:
                    continue  # someone (a supervisor's action) changed it meanwhile: redo

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

    async def get(self, incident_id: str) -> Incident | None:
        raw = await self._redis.get(names.incident_key(incident_id))
        return decode_incident(raw) if raw else None

    async def open_incidents(self, limit: int = 500) -> list[Incident]:
        ids = await self._redis.zrevrange(names.INCIDENTS_OPEN, 0, limit - 1)
        if not ids:
            return []
        raws = await self._redis.mget([names.incident_key(_text(i)) for i in ids])
        return [decode_incident(raw) for raw in raws if raw]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
