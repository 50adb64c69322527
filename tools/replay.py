"""`tripwatch replay`: produce a scenario's events at real or accelerated pace."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from core.settings import Settings
from monitor.topics import ensure_topics
from tools.scenario import Scenario, absolute_event, load_scenario

log = logging.getLogger(__name__)

MIN_SLEEP_S = 0.01


async def replay_file(settings: Settings, path: Path, speed: float = 1.0) -> int:
    return await replay(settings, load_scenario(path), speed)


async def replay(
    settings: Settings, scenario: Scenario, speed: float = 1.0, start_ms: int | None = None
) -> int:
    """Produce every event keyed by order_id (passenger_id for passengers); returns the count.

    `start_ms` is the wall-clock time (ms) that scenario second 0 maps to (default: now).
    """
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=5)
    await producer.start()
    try:
        if start_ms is None:
            start_ms = int(time.time() * 1000)
        started = time.monotonic() + (start_ms - time.time() * 1000) / 1000
        for item in scenario.events:
            if speed > 0:
                delay = started + item.at_s / speed - time.monotonic()
                if delay > MIN_SLEEP_S:  # events a few ms apart go out together
                    await producer.flush()
                    await asyncio.sleep(delay)
            event = absolute_event(item, start_ms, speed)
            await producer.send(item.topic, key=item.key.encode(), value=orjson.dumps(event))
        await producer.flush()
    finally:
        await producer.stop()
    log.info("replayed %d events of %s", len(scenario.events), scenario.name)
    return len(scenario.events)
