"""A consumer waits briefly per fetch while records come, longer once its topics are quiet."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from core.fetch_wait import adapt_fetch_wait
from core.settings import Settings


async def wait_for(condition, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_the_fetch_wait_grows_when_idle_and_shrinks_when_records_come(settings: Settings) -> None:
    topic = f"fetch-wait-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    await producer.send_and_wait(topic, b"first")  # creates the topic
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        adapt_fetch_wait(consumer, busy_ms=10, idle_ms=200)
        fetcher = consumer._fetcher
        assert fetcher._fetch_max_wait_ms == 10
        assert (await consumer.getone()).value == b"first"
        await wait_for(lambda: fetcher._fetch_max_wait_ms == 200)  # quiet for a second
        await producer.send_and_wait(topic, b"second")
        assert (await asyncio.wait_for(consumer.getone(), 10)).value == b"second"
        await wait_for(lambda: fetcher._fetch_max_wait_ms == 10, timeout_s=5)  # busy again
    finally:
        await consumer.stop()
        await producer.stop()
