"""Deadlines survive a worker restart: a real broker, real Redis, and worker processes in turn.

A trip's state (its deadlines) is in the `trips` table, whose changelog the next worker reads
back. Each test stops the worker after it has read a trip (gracefully, or with SIGKILL) and
before the trip's deadlines are due; no event of the trip arrives afterwards. The next worker
must fire each deadline, once, at its time in event time.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from core import names
from core.ports import free_port
from core.settings import Settings
from monitor.topics import ensure_topics
from monitor.worker import worker_process
from tests.helpers import Producer, now_ms, partition_of, wait_for_log, wait_until
from tests.monitor.test_detection_e2e import Order, wait_incident
from tests.monitor.trips import on_route
from tripwatch.embedded import broker_service, redis_service

# Starts its own services or tripwatch processes.
pytestmark = pytest.mark.service

RULES = Path(__file__).resolve().parent / "restart_rules"
SILENCE_MS = 15_000  # max_silence_s of restart_rules/rules.yaml
GRACE_MS = 2_000


@pytest.fixture(scope="module")
def own_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A broker and a Redis of this module's own: its workers come and go without
    disturbing the session's worker."""
    base = tmp_path_factory.mktemp("restart")
    broker = broker_service("127.0.0.1", free_port(), base / "logs")
    redis = redis_service("127.0.0.1", free_port(), base / "redis")
    broker.start()
    try:
        redis.start()
        try:
            settings = Settings(
                kafka_url=f"kafka://127.0.0.1:{broker.port}",
                redis_url=f"redis://127.0.0.1:{redis.port}/0",
                data_dir=base / "data",
                rules_dir=RULES,
                partitions=2,
                app_id="tripwatch-restart",
                session_timeout_s=6.0,
                deadline_tick_s=0.1,
                worker_metrics_port=0,
            )
            asyncio.run(ensure_topics(settings))
            yield settings
        finally:
            redis.stop()
    finally:
        broker.stop()


@pytest.fixture
async def own_producer(own_settings: Settings) -> AsyncIterator[Producer]:
    kafka = AIOKafkaProducer(bootstrap_servers=own_settings.kafka_bootstrap, linger_ms=1)
    await kafka.start()
    yield Producer(kafka)
    await kafka.stop()


@pytest.fixture
def own_redis(own_settings: Settings) -> Iterator[object]:
    import redis as redis_sync

    client = redis_sync.Redis.from_url(own_settings.redis_dsn)
    yield client
    client.close()


async def start_trips(producer: Producer, run: str) -> tuple[Order, int, Order, int]:
    """One car on a trip that goes silent, one passenger whose driver never comes."""
    silent = Order(producer, f"silent-{run}")
    await silent.start()
    last_ping = 0
    for n in range(5):
        last_ping = await silent.ping(on_route(0.05 * (n + 1)))
        await asyncio.sleep(0.2)
    waiting = Order(producer, f"waiting-{run}")
    promised = now_ms() + 12_000
    await waiting.trip("order.created", passenger_id="p-restart", promised_pickup_ts=promised,
                       pickup={"lat": 52.52, "lon": 13.40}, dropoff={"lat": 52.50, "lon": 13.45})  # fmt: skip
    await waiting.trip("driver.assigned", driver={"id": "d-9", "name": "Ivan Petrov", "plate": "B-TW 99"},
                       eta_pickup_ts=promised)  # fmt: skip
    return silent, last_ping, waiting, promised


def trip_read(redis, order_id: str, events: int) -> bool:
    """The worker has read `events` events of the order (the board's trip log says so)."""
    return redis.llen(names.trip_events_key(order_id)) >= events


@pytest.mark.timeout(150)
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_deadlines_fire_after_a_worker_restart(
    own_settings, own_producer, own_redis, tmp_path, stop_signal
) -> None:
    run = f"{stop_signal.name.lower()}-{now_ms()}"
    with worker_process(own_settings, tmp_path / "first.log") as first:
        silent, last_ping, waiting, promised = await start_trips(own_producer, run)
        wait_until(lambda: trip_read(own_redis, waiting.order_id, 2), timeout_s=20)
        await asyncio.sleep(4)  # past a commit of the read offsets (faust commits every 2.8 s)
        assert own_redis.get(names.incident_key(f"{silent.order_id}:signal_lost")) is None
        os.kill(first.pid, stop_signal)
        first.wait(30)
    assert now_ms() < promised + GRACE_MS, (
        "the first worker lived past the deadlines; the test proves nothing"
    )

    with worker_process(own_settings, tmp_path / "second.log"):
        lost = wait_incident(own_redis, silent.order_id, "signal_lost", timeout_s=60)
        late = wait_incident(own_redis, waiting.order_id, "pickup_delay", timeout_s=30)
    assert lost["trigger_ts"] == last_ping + SILENCE_MS
    assert late["trigger_ts"] == promised + GRACE_MS
    for found in (lost, late):
        assert found["revision"] == 1, orjson.dumps(found)


def run_on_partition(partition: int, partitions: int) -> str:
    """A run id whose silent trip is read from `partition`."""
    for n in range(1000):
        run = f"failover-{now_ms()}-{n}"
        if partition_of(f"silent-{run}", partitions) == partition:
            return run
    raise AssertionError("no key found")


@pytest.mark.timeout(150)
async def test_a_surviving_worker_fires_the_deadlines_of_a_killed_one(
    own_settings, own_producer, own_redis, tmp_path
) -> None:
    """Two workers share the partitions; one is killed; the other takes over its trips."""
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with worker_process(own_settings, logs[0]) as doomed, worker_process(own_settings, logs[1]) as survivor:
        for path, process in zip(logs, (doomed, survivor), strict=True):
            wait_for_log(path, "rebalanced: 1 partitions", process, timeout_s=60)
        runs = [run_on_partition(p, own_settings.partitions) for p in range(own_settings.partitions)]
        trips = [await start_trips(own_producer, run) for run in runs]
        for _, _, waiting, _ in trips:
            wait_until(lambda waiting=waiting: trip_read(own_redis, waiting.order_id, 2), timeout_s=20)
        await asyncio.sleep(4)  # past a commit of the read offsets
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
        assert now_ms() < min(promised for *_, promised in trips) + GRACE_MS, "too late to prove anything"
        for silent, last_ping, waiting, promised in trips:
            lost = wait_incident(own_redis, silent.order_id, "signal_lost", timeout_s=60)
            late = wait_incident(own_redis, waiting.order_id, "pickup_delay", timeout_s=30)
            assert lost["trigger_ts"] == last_ping + SILENCE_MS
            assert late["trigger_ts"] == promised + GRACE_MS
            assert (lost["revision"], late["revision"]) == (1, 1)
        assert "rebalanced: 2 partitions" in logs[1].read_text().split("rebalanced: 1 partitions")[-1]
