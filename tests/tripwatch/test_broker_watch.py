"""The embedded broker's limit is watched: record batches counted per partition on the real
broker, a warning logged and a flag the board's health shows once a partition holds more than
`embedded_batch_warn` (set low here)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from core import names
from core.clock import now_ms
from core.health import Check, Snapshot, judge
from core.settings import Settings
from dashboard.health import broker_warning
from tripwatch.broker_watch import BrokerWatch

SINGLE, BATCHED, PER_BATCH = 30, 4, 5


async def fill(settings: Settings, topic: str, single: int, batched: int) -> None:
    """`single` one-record batches, then `batched` batches of PER_BATCH records, in partition 0."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=0)
    await producer.start()
    try:
        for n in range(single):
            await producer.send_and_wait(topic, f"one-{n}".encode(), partition=0)
        for n in range(batched):
            batch = producer.create_batch()
            for k in range(PER_BATCH):
                batch.append(key=None, value=f"many-{n}-{k}".encode(), timestamp=None)
            await (await producer.send_batch(batch, topic, partition=0))
    finally:
        await producer.stop()


@pytest.fixture
async def topic(settings: Settings) -> str:
    name = f"watched-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 2, 1)])
    finally:
        await admin.close()
    return name


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(settings.redis_dsn)
    yield client
    await client.delete(names.BROKER_HEALTH)
    await client.aclose()


async def test_batches_are_counted_and_the_board_warns(
    settings: Settings, topic: str, redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    await fill(settings, topic, SINGLE, BATCHED)
    watch = BrokerWatch(settings.replace(embedded_batch_warn=SINGLE))
    await watch.start()
    try:
        with caplog.at_level(logging.WARNING, logger="tripwatch.broker_watch"):
            load = await watch.check()
        assert watch.counter.batches[TopicPartition(topic, 0)] == SINGLE + BATCHED  # batches, not records
        assert TopicPartition(topic, 1) not in watch.counter.batches
        assert load is not None and load.over and load.batches >= SINGLE + BATCHED
        assert "Move to Kafka" in caplog.text

        warning = await broker_warning(redis)
        assert warning is not None and "record batches" in warning
        verdict = judge(_board_snapshot(warning), now_ms())
        assert verdict.status == "degraded" and warning in verdict.problems

        await fill(settings, topic, 3, 0)  # counted forward, not again from the start
        await watch.check()
        assert watch.counter.batches[TopicPartition(topic, 0)] == SINGLE + BATCHED + 3
    finally:
        await watch.close()


async def test_no_flag_under_the_limit(settings: Settings, topic: str, redis: aioredis.Redis) -> None:
    await fill(settings, topic, 2, 0)
    await redis.set(names.BROKER_HEALTH, b'{"message": "stale"}')
    watch = BrokerWatch(settings.replace(embedded_batch_warn=10_000_000))
    await watch.start()
    try:
        load = await watch.check()
    finally:
        await watch.close()
    assert load is not None and not load.over
    assert await broker_warning(redis) is None
    assert judge(_board_snapshot(None), now_ms()).status == "ok"


def _board_snapshot(warning: str | None) -> Snapshot:
    return Snapshot(now_ms(), Check(True), Check(True), lag={}, workers=1, broker_warning=warning)
