"""The order's history for the board: non-telemetry events and a down-sampled GPS track.

Written by the worker into capped Redis lists (one write per trip event, one per track
interval per order), read by the board's trip view. Redelivered events may appear twice
in the list; readers de-duplicate on `event_id`.
"""

from __future__ import annotations

from typing import Any

import msgspec
import redis.asyncio as aioredis

from core import models, names
from core.settings import Settings

RETENTION_S = 7 * 24 * 3600


class TripLog:
    def __init__(self, redis: aioredis.Redis, max_events: int, track_interval_ms: int) -> None:
        self._redis = redis
        self._max_events = max_events
        self._track_interval_ms = track_interval_ms
        self._last_point: dict[str, int] = {}  # order_id -> ts of its last recorded point

    @classmethod
    def from_settings(cls, redis: aioredis.Redis, settings: Settings) -> TripLog:
        return cls(redis, settings.trip_log_max_events, int(settings.trip_track_interval_s * 1000))

    async def record(self, event: models.InputEvent) -> None:
        if isinstance(event, models.TelemetryPing):
            await self._record_point(event)
            return
        key = names.trip_events_key(event.order_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.rpush(key, msgspec.json.encode(event))
            pipe.ltrim(key, -self._max_events, -1)
            pipe.expire(key, RETENTION_S)
            await pipe.execute()
        if isinstance(event, models.TripCompleted | models.OrderCancelled):
            self._last_point.pop(event.order_id, None)

    def forget(self, order_id: str) -> None:
        """The trip is over for the worker (expired): its last track point need not be kept."""
        self._last_point.pop(order_id, None)

    async def _record_point(self, ping: models.TelemetryPing) -> None:
        last = self._last_point.get(ping.order_id)
        if last is not None and abs(ping.ts - last) < self._track_interval_ms:
            return
        key = names.trip_track_key(ping.order_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.rpush(key, msgspec.json.encode([ping.ts, ping.lat, ping.lon, ping.speed_kmh]))
            pipe.ltrim(key, -2000, -1)
            pipe.expire(key, RETENTION_S)
            await pipe.execute()
        self._last_point[ping.order_id] = ping.ts  # only once written: a retry writes it again


async def read_events(redis: aioredis.Redis, order_id: str) -> list[dict[str, Any]]:
    """The order's events, de-duplicated on `event_id`, in event-time order."""
    seen: set[str] = set()
    events = []
    for raw in await redis.lrange(names.trip_events_key(order_id), 0, -1):
        event = msgspec.json.decode(raw)
        if event.get("event_id") in seen:
            continue
        seen.add(event.get("event_id"))
        events.append(event)
    events.sort(key=lambda e: e.get("ts", 0))
    return events


async def read_track(redis: aioredis.Redis, order_id: str) -> list[tuple[int, float, float, float]]:
    points = [
        tuple(msgspec.json.decode(raw)) for raw in await redis.lrange(names.trip_track_key(order_id), 0, -1)
    ]
    return sorted(points)
