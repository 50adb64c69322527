"""`tripwatch replay`: produce a scenario's events at real or accelerated pace."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from monitor.scenario import Scenario, absolute_event, load_scenario
from monitor.settings import Settings
from monitor.topics import ensure_topics

log = logging.getLogger(__name__)


async def replay_file(settings: Settings, path: Path, speed: float = 1.0) -> int:
    return await replay(settings, load_scenario(path), speed)


async def replay(settings: Settings, scenario: Scenario, speed: float = 1.0) -> int:
    """Produce every event keyed by order_id (passenger_id for passengers); returns the count."""
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=5)
    await producer.start()
    try:
        start_ms = int(time.time() * 1000)
        started = time.monotonic()
        for item in scenario.events:
            if speed > 0:
                delay = started + item.at_s / speed - time.monotonic()
                if delay > 0:
                    await producer.flush()
                    await asyncio.sleep(delay)
            event = absolute_event(item, start_ms, speed)
            await producer.send(item.topic, key=item.key.encode(), value=orjson.dumps(event))
        await producer.flush()
    finally:
        await producer.stop()
    log.info("replayed %d events of %s", len(scenario.events), scenario.name)
    return len(scenario.events)
