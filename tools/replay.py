"""`tripwatch replay`: produce a scenario's events at real or accelerated pace."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from core.settings import Settings
from monitor.topics import ensure_topics
from tools.scenario import Scenario, ScheduledEvent, absolute_event, load_scenario

log = logging.getLogger(__name__)

MIN_SLEEP_S = 0.01
# Events go out in windows this long: the embedded broker's cost grows with the record batches a
# partition holds (docs/architecture.md), and a flush per event made one batch per event.
BATCH_WINDOW_S = 0.1
SkipCheck = Callable[[ScheduledEvent], Awaitable[bool]]


async def replay_file(settings: Settings, path: Path, speed: float = 1.0) -> int:
    return await replay(settings, load_scenario(path), speed)


async def replay(
    settings: Settings,
    scenario: Scenario,
    speed: float = 1.0,
    start_ms: int | None = None,
    skip: SkipCheck | None = None,
    batch_window_s: float = BATCH_WINDOW_S,
) -> int:
    """Produce every event keyed by order_id (passenger_id for passengers and support contacts);
    returns the count produced.

    `start_ms` is the wall-clock time (ms) that scenario second 0 maps to (default: now).
    `skip(item)`, when given, is asked about each event marked `unless_told` at its time:
    True leaves it out (the simulated passenger heard from us first: tools.evaluate).
    Events due within `batch_window_s` of each other go out together (each at most that late,
    its `ts` as scheduled), so a partition gets one record batch per window, not per event.
    """
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=5)
    await producer.start()
    skipped = 0
    try:
        if start_ms is None:
            start_ms = int(time.time() * 1000)
        started = time.monotonic() + (start_ms - time.time() * 1000) / 1000
        for item in scenario.events:
            if speed > 0:
                delay = started + item.at_s / speed - time.monotonic()
                if delay > MIN_SLEEP_S:  # what is due by the end of the window goes out together
                    await producer.flush()
                    await asyncio.sleep(max(delay, batch_window_s))
            if item.unless_told is not None and skip is not None and await skip(item):
                skipped += 1
                continue
            event = absolute_event(item, start_ms, speed)
            await producer.send(item.topic, key=item.key.encode(), value=orjson.dumps(event))
        await producer.flush()
    finally:
        await producer.stop()
    log.info("replayed %d events of %s (%d left out)", len(scenario.events) - skipped, scenario.name, skipped)
    return len(scenario.events) - skipped
