"""Benchmark: Tripwatch's worker against a raw consumer on the same broker, in the same run.

    .venv/bin/python bench/pipeline.py [--events 20000] [--latency-orders 200]

Starts its own embedded broker, Redis and one worker on free ports, then prints:
- throughput: events/s through the worker (decode, state, detection) and a raw aiokafka
  consumer's reads/s over the same messages, and their ratio (the machine is shared and noisy:
  compare ratios, not absolute figures);
- latency: from producing an event that opens an incident to the incident in Redis, p50/p95/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import names  # noqa: E402
from core.clock import now_ms  # noqa: E402
from core.processes import spawn, stop_process  # noqa: E402
from core.settings import Settings  # noqa: E402
from monitor.topics import ensure_topics  # noqa: E402
from tripwatch.embedded import broker_service, free_port, redis_service  # noqa: E402


def order_created(order_id: str, promised_ts: int) -> bytes:
    return orjson.dumps({
        "event_id": f"{order_id}-c", "type": "order.created", "order_id": order_id, "ts": now_ms(),
        "passenger_id": "p", "pickup": {"lat": 52.5, "lon": 13.4}, "dropoff": {"lat": 52.6, "lon": 13.5},
        "promised_pickup_ts": promised_ts,
    })  # fmt: skip


def ping(order_id: str, n: int) -> bytes:
    return orjson.dumps({
        "order_id": order_id, "driver_id": "d", "ts": now_ms(), "lat": 52.5 + n * 1e-5, "lon": 13.4,
        "speed_kmh": 30.0, "accuracy_m": 5.0, "event_id": f"{order_id}-{n}",
    })  # fmt: skip


async def produce_load(settings: Settings, events: int) -> None:
    """Trips with telemetry: one order.created per 20 events, pings for the rest."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=5)
    await producer.start()
    far = now_ms() + 3_600_000
    for n in range(events):
        order_id = f"load-{n // 20}"
        if n % 20 == 0:
            await producer.send(names.TRIP_EVENTS, key=order_id.encode(), value=order_created(order_id, far))
        else:
            await producer.send(names.TELEMETRY, key=order_id.encode(), value=ping(order_id, n))
    await producer.flush()
    await producer.stop()


async def raw_consumer_rate(settings: Settings, events: int) -> float:
    consumer = AIOKafkaConsumer(
        names.TRIP_EVENTS, names.TELEMETRY, bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest", fetch_max_wait_ms=10, group_id=None,
    )  # fmt: skip
    await consumer.start()
    seen, started = 0, time.perf_counter()
    while seen < events:
        for batch in (await consumer.getmany(timeout_ms=200, max_records=5000)).values():
            for message in batch:
                orjson.loads(message.value)
            seen += len(batch)
    elapsed = time.perf_counter() - started
    await consumer.stop()
    return events / elapsed


async def worker_drain_time(settings: Settings, redis: aioredis.Redis) -> float:
    """Seconds until the worker has judged everything produced so far: one marker order per
    partition (already late, so it opens at once) comes after the load on that partition."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    markers = {}
    n = 0
    while len(markers) < settings.partitions:
        key = f"marker-{n}"
        n += 1
        partition = await producer.partitions_for(names.TRIP_EVENTS)
        from aiokafka.partitioner import murmur2

        p = (murmur2(key.encode()) & 0x7FFFFFFF) % len(partition)
        markers.setdefault(p, key)
    for key in markers.values():
        await producer.send(names.TRIP_EVENTS, key=key.encode(), value=order_created(key, now_ms() - 600_000))
    await producer.stop()
    while True:
        found = await redis.exists(*[names.incident_key(f"{k}:pickup_delay") for k in markers.values()])
        if found == len(markers):
            return time.perf_counter()
        await asyncio.sleep(0.02)


async def latencies(settings: Settings, redis: aioredis.Redis, orders: int) -> list[float]:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=0)
    await producer.start()
    results = []
    for n in range(orders):
        key = f"latency-{n}"
        sent = time.time()
        await producer.send_and_wait(
            names.TRIP_EVENTS, key=key.encode(), value=order_created(key, now_ms() - 600_000)
        )
        while not await redis.exists(names.incident_key(f"{key}:pickup_delay")):
            await asyncio.sleep(0.001)
        results.append((time.time() - sent) * 1000)
        await asyncio.sleep(0.01)
    await producer.stop()
    return results


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def run(args: argparse.Namespace, settings: Settings) -> None:
    redis = aioredis.from_url(settings.redis_dsn)
    await ensure_topics(settings)
    started = time.perf_counter()
    worker = start_worker(settings)
    try:
        await wait_ready(redis, settings)
        ready = time.perf_counter()
        print(f"worker ready after {ready - started:.1f} s; producing {args.events} events ...", flush=True)
        await produce_load(settings, args.events)
        done = await worker_drain_time(settings, redis)
        worker_rate = args.events / (done - ready)
        lat = await latencies(settings, redis, args.latency_orders)
    finally:
        stop_process("worker", worker, timeout_s=30)
        await redis.aclose()
    raw_rate = await raw_consumer_rate(settings, args.events)
    print(f"throughput  raw consumer (decode only): {raw_rate:10.0f} events/s   (baseline)")
    print(
        f"throughput  tripwatch worker:          {worker_rate:10.0f} events/s   ratio {worker_rate / raw_rate:.3f}"
    )
    print(
        f"latency     event -> incident in Redis: p50 {percentile(lat, 50):.1f} ms, "
        f"p95 {percentile(lat, 95):.1f} ms, p99 {percentile(lat, 99):.1f} ms ({len(lat)} orders)"
    )


def start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = dict(os.environ) | settings.as_environment() | {"TRIPWATCH_LOG_LEVEL": "warning"}
    return spawn([sys.executable, "-m", "tripwatch.cli", "worker"], env, cwd=ROOT)


async def wait_ready(redis: aioredis.Redis, settings: Settings) -> None:
    """Ready = a probe order is judged (the group has joined, the worker consumes)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    await producer.send_and_wait(
        names.TRIP_EVENTS, key=b"probe", value=order_created("probe", now_ms() - 600_000)
    )
    await producer.stop()
    while not await redis.exists(names.incident_key("probe:pickup_delay")):
        await asyncio.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--latency-orders", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = broker_service("127.0.0.1", free_port(), Path(tmp))
        redis = redis_service("127.0.0.1", free_port(), Path(tmp) / "redis")
        broker.start()
        redis.start()
        try:
            settings = Settings(
                kafka_url=f"kafka://127.0.0.1:{broker.port}", redis_url=f"redis://127.0.0.1:{redis.port}/0",
                rules_dir=ROOT / "rules" / "pack", session_timeout_s=6.0, app_id="tripwatch-bench",
            )  # fmt: skip
            asyncio.run(run(args, settings))
        finally:
            redis.stop()
            broker.stop()


if __name__ == "__main__":
    main()
