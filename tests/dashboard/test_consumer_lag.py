"""The worker's consumer-lag metric, read from a real worker's /metrics, shows a backlog while it
exists and falls to 0 once the worker has read it.

This runs its own short-lived broker, Valkey and worker: the session's worker serves no /metrics
(`worker_metrics_port=0`), and a backlog on the session's topics would delay every other test's
events behind it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from core import names
from core.ports import free_port
from core.settings import Settings
from monitor.topics import ensure_topics
from monitor.worker import worker_process
from tripwatch.embedded import broker_service, redis_service

# faust reads at most ~5,700 events/s here (STACK.md): this is over 5 s of backlog, so the gauge's
# first update (5 s after the start) still sees some of it.
BACKLOG = 40_000
LAG = re.compile(r'^tripwatch_consumer_lag\{partition="(\d+)",topic="telemetry"\} (\S+)$', re.M)


@pytest.fixture
def isolated(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with broker_service("127.0.0.1", free_port(), tmp_path / "logs") as broker, \
         redis_service("127.0.0.1", free_port(), tmp_path / "redis") as redis:  # fmt: skip
        yield settings.replace(
            kafka_url=f"kafka://127.0.0.1:{broker.port}",
            redis_url=f"redis://127.0.0.1:{redis.port}/0",
            data_dir=tmp_path / "data",
            app_id="tripwatch-lag-test",
            worker_metrics_port=free_port(),
        )


async def produce_backlog(settings: Settings, count: int) -> None:
    kafka = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=5)
    await kafka.start()
    try:
        start = int(time.time() * 1000)
        for i in range(count):
            order_id = f"lag-{i % 200}"
            ping = {"order_id": order_id, "driver_id": "d-1", "ts": start + i, "lat": 52.5, "lon": 13.4,
                    "speed_kmh": 30.0}  # fmt: skip
            await kafka.send(names.TELEMETRY, key=order_id.encode(), value=orjson.dumps(ping))
        await kafka.flush()
    finally:
        await kafka.stop()


async def telemetry_lag(url: str) -> dict[int, float]:
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        text = await response.text()
    return {int(p): float(v) for p, v in LAG.findall(text)}


async def test_consumer_lag_shows_the_backlog_then_drains(isolated: Settings, tmp_path: Path):
    await ensure_topics(isolated)
    await produce_backlog(isolated, BACKLOG)  # before the worker starts: all of it is lag
    url = f"http://127.0.0.1:{isolated.worker_metrics_port}/metrics"
    with worker_process(isolated, tmp_path / "worker.log", timeout_s=60):
        readings = []  # the worker updates the gauge every 5 s
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (readings and readings[-1] == 0):
            lag = await telemetry_lag(url)
            if lag:
                assert sorted(lag) == list(range(isolated.partitions))
                readings.append(sum(lag.values()))
            await asyncio.sleep(0.25)
    print(f"telemetry lag readings: {sorted(set(readings), reverse=True)}")
    assert readings and readings[-1] == 0, readings  # drained: the gauge falls back to 0
    assert 0 < readings[0] <= BACKLOG, readings  # the backlog showed while it existed
    assert readings == sorted(readings, reverse=True)  # it only shrank: nothing more was produced
