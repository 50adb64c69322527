"""The trip log written in batches: offsets held until written, a flush that waits, outages."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from faust.types import TP

from core import models
from core.ports import free_port
from core.trip_log import TripLog, read_events, read_track
from monitor.trip_log_writer import TripLogWriter
from tripwatch.embedded import redis_service

TRIPS = TP("trip-events", 0)
TELEMETRY = TP("telemetry", 0)


def created(order_id: str, n: int) -> models.OrderCreated:
    place = models.Place(lat=52.5, lon=13.4)
    return models.OrderCreated(
        event_id=f"{order_id}-{n}", order_id=order_id, ts=1_000 + n, passenger_id="p",
        pickup=place, dropoff=place, promised_pickup_ts=10_000,
    )  # fmt: skip


def ping(order_id: str, ts: int) -> models.TelemetryPing:
    return models.TelemetryPing(order_id, "d", ts, 52.5, 13.4, 30.0)


@pytest.fixture
async def redis(redis_settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_settings.redis_dsn)
    yield client
    await client.aclose()


@pytest.fixture
def order_id() -> str:
    return f"batched-{uuid.uuid4().hex[:8]}"


async def test_queued_entries_hold_their_offsets_until_written(redis, order_id):
    writer = TripLogWriter(TripLog(redis, max_events=100, track_interval_ms=10_000))
    await writer.add(created(order_id, 1), TRIPS, 7)
    await writer.add(created(order_id, 2), TRIPS, 8)
    await writer.add(ping(order_id, 5_000), TELEMETRY, 3)
    await writer.add(ping(order_id, 6_000), TELEMETRY, 4)  # within the track interval: nothing
    assert (writer.commit_cap(TRIPS), writer.commit_cap(TELEMETRY)) == (7, 3)
    assert await read_events(redis, order_id) == []  # nothing written until flushed
    await writer.flush()
    assert [e["event_id"] for e in await read_events(redis, order_id)] == [f"{order_id}-1", f"{order_id}-2"]
    assert await read_track(redis, order_id) == [(5_000, 52.5, 13.4, 30.0)]
    assert (writer.commit_cap(TRIPS), writer.commit_cap(TELEMETRY)) == (None, None)


async def test_the_writer_task_writes_what_queues_while_it_writes(redis, order_id):
    writer = TripLogWriter(TripLog(redis, max_events=100, track_interval_ms=10_000))
    task = asyncio.create_task(writer.run())
    try:
        for n in range(200):
            await writer.add(created(order_id, n), TRIPS, n)
            if n % 50 == 0:
                await asyncio.sleep(0)  # the writer takes what has queued so far
        async with asyncio.timeout(30):
            while writer.commit_cap(TRIPS) is not None:
                await asyncio.sleep(0.01)
        events = await read_events(redis, order_id)
        assert [e["event_id"] for e in events] == [
            f"{order_id}-{n}" for n in range(100, 200)
        ]  # the newest 100
    finally:
        task.cancel()


async def test_an_outage_holds_the_offsets_and_the_entries_are_written_once_redis_is_back(tmp_path: Path):
    service = redis_service("127.0.0.1", free_port(), tmp_path / "redis")
    service.start()
    client = aioredis.from_url(f"redis://127.0.0.1:{service.port}/0")
    writer = TripLogWriter(TripLog(client, max_events=100, track_interval_ms=10_000), max_queued=3)
    try:
        service.stop()
        await writer.add(created("outage", 1), TRIPS, 11)
        await writer.add(created("outage", 2), TRIPS, 12)  # queued: the agent reads on
        adding = asyncio.create_task(writer.add(created("outage", 3), TRIPS, 13))
        await asyncio.sleep(1.0)
        assert not adding.done()  # full (max_queued 3): the agent is held while Redis is away
        assert writer.commit_cap(TRIPS) == 11
        service.start()
        async with asyncio.timeout(30):
            await adding
        assert writer.commit_cap(TRIPS) is None
        assert [e["event_id"] for e in await read_events(client, "outage")] == [
            f"outage-{n}" for n in (1, 2, 3)
        ]
    finally:
        await client.aclose()
        service.stop()
