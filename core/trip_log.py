"""The order's history for the board: non-telemetry events and a down-sampled GPS track.

Written by the worker into capped Redis lists (each trip event, one point per track
interval per order; the worker writes them in batches, monitor.trip_log_writer), read by the
board's trip view. Redelivered events may appear twice in the list; readers de-duplicate on
`event_id`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import redis.asyncio as aioredis

from core import models, names
from core.settings import Settings

RETENTION_S = 7 * 24 * 3600
TRACK_POINTS = 2000  # the newest points kept per order


@dataclass(frozen=True, slots=True)
class Entry:
    """One value appended to an order's list, which keeps its newest `keep` values."""

    key: str
    value: bytes
    keep: int


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
        """Write what `event` adds to the log, now (the worker batches: monitor.trip_log_writer)."""
        entry = self.entry(event)
        if entry is not None:
            await self.write([entry])

    def entry(self, event: models.InputEvent) -> Entry | None:
        """What recording `event` appends; None for a track point within the interval of the last.
        A track point counts as recorded once returned: the caller writes it until it succeeds."""
        if isinstance(event, models.TelemetryPing):
            return self._point(event)
        if isinstance(event, models.TripCompleted | models.OrderCancelled):
            self._last_point.pop(event.order_id, None)
        return Entry(names.trip_events_key(event.order_id), msgspec.json.encode(event), self._max_events)

    async def write(self, entries: list[Entry]) -> None:
        """Append `entries` in one round trip: one RPUSH, LTRIM and EXPIRE per list, in order."""
        grouped: dict[str, list[Entry]] = {}
        for entry in entries:
            grouped.setdefault(entry.key, []).append(entry)
        async with self._redis.pipeline(transaction=False) as pipe:
            for key, appended in grouped.items():
                pipe.rpush(key, *[entry.value for entry in appended])
                pipe.ltrim(key, -appended[-1].keep, -1)
                pipe.expire(key, RETENTION_S)
            await pipe.execute()

    def forget(self, order_id: str) -> None:
        """The trip is over for the worker (expired): its last track point need not be kept."""
        self._last_point.pop(order_id, None)

    def _point(self, ping: models.TelemetryPing) -> Entry | None:
        last = self._last_point.get(ping.order_id)
        if last is not None and abs(ping.ts - last) < self._track_interval_ms:
            return None
        self._last_point[ping.order_id] = ping.ts
        value = msgspec.json.encode([ping.ts, ping.lat, ping.lon, ping.speed_kmh])
        return Entry(names.trip_track_key(ping.order_id), value, TRACK_POINTS)


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
