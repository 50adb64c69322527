"""How long the embedded broker serves a steady load before latency degrades.

Starts an embedded broker, Redis and one worker (as `tripwatch up` runs them), then offers
`--rate` pings/s to live trips for up to `--seconds`, and every `--every` seconds sends an SOS
and times it to its incident in Redis. Each line: the time, the record batches in the fullest
partition (counted as `tripwatch up`'s broker watch counts them), the broker's resident memory
and share of a core over the last interval, the worker's consumer lag and the SOS latency. It
stops early once two SOS in a row take longer than `--give-up-ms`.

    .venv/bin/python bench/broker_runtime.py --rate 1000 --seconds 240 [--partitions 8] [--linger-ms 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import orjson
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import procstat  # noqa: E402  (bench/, on the path as the script's own directory)
from pipeline import embedded_stack, ping, start_worker, wait_ready  # noqa: E402

from core import names  # noqa: E402
from core.clock import now_ms  # noqa: E402
from core.ports import free_port  # noqa: E402
from core.processes import stop_process  # noqa: E402
from core.settings import Settings  # noqa: E402
from monitor.topics import ensure_topics  # noqa: E402
from tripwatch.broker_watch import BatchCounter  # noqa: E402

TRIPS = 2_000


async def offer(settings: Settings, rate: int, linger_ms: int, stop: asyncio.Event) -> None:
    """Pings at `rate` per second to TRIPS trips, sent as the seconds pass (in 10 ms steps)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=linger_ms)
    await producer.start()
    started, n = time.perf_counter(), 0
    try:
        while not stop.is_set():
            while n < (time.perf_counter() - started) * rate:
                key = f"run-{n % TRIPS}"
                await producer.send(names.TELEMETRY, key=key.encode(), value=ping(key, n))
                n += 1
            await asyncio.sleep(0.01)
    finally:
        await producer.stop()


async def sos_ms(settings: Settings, redis: aioredis.Redis, order_id: str, give_up_ms: float) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=0)
    await producer.start()
    event = {"event_id": f"{order_id}-sos", "type": "sos.pressed", "order_id": order_id, "ts": now_ms(),
             "source": "passenger"}  # fmt: skip
    try:
        sent = time.perf_counter()
        await producer.send_and_wait(names.SAFETY_SIGNALS, key=order_id.encode(), value=orjson.dumps(event))
        while not await redis.exists(names.incident_key(f"{order_id}:sos")):
            if (time.perf_counter() - sent) * 1000 > give_up_ms * 5:
                break
            await asyncio.sleep(0.005)
        return (time.perf_counter() - sent) * 1000
    finally:
        await producer.stop()


async def worker_lag(redis: aioredis.Redis) -> int:
    reports = [orjson.loads(raw) for raw in (await redis.hgetall(names.WORKER_HEALTH)).values()]
    return sum(sum((report.get("lag") or {}).values()) for report in reports)


async def watch(args: argparse.Namespace, settings: Settings, broker_pid: int) -> None:
    redis = aioredis.from_url(settings.redis_dsn)
    counter = BatchCounter(settings.kafka_bootstrap)
    await counter.start()
    stop = asyncio.Event()
    offering = asyncio.create_task(offer(settings, args.rate, args.linger_ms, stop))
    began, slow = time.perf_counter(), 0
    try:
        while (elapsed := time.perf_counter() - began) < args.seconds:
            cpu = await asyncio.to_thread(procstat.cpu_share, {"broker": broker_pid}, args.every)
            latency = await sos_ms(settings, redis, f"sos-{now_ms()}", args.give_up_ms)
            batches = await counter.count()
            fullest = max(batches.values(), default=0)
            print(
                f"{elapsed + args.every:6.0f} s  fullest partition {fullest:6d} batches  "
                f"broker {procstat.rss_bytes(broker_pid) / 1e6:5.0f} MB, {cpu['broker'] * 100:5.1f} % of a core  "
                f"lag {await worker_lag(redis):6d}  SOS -> incident {latency:7.0f} ms",
                flush=True,
            )
            slow = slow + 1 if latency > args.give_up_ms else 0
            if slow == 2:
                print(f"latency degraded after {elapsed + args.every:.0f} s at {args.rate} events/s")
                break
    finally:
        stop.set()
        await offering
        await counter.close()
        await redis.aclose()


async def run(args: argparse.Namespace, settings: Settings, broker_pid: int) -> None:
    await ensure_topics(settings)
    worker = start_worker(settings.replace(worker_metrics_port=free_port()))
    try:
        await wait_ready(aioredis.from_url(settings.redis_dsn), settings)
        await watch(args, settings, broker_pid)
    finally:
        stop_process("worker", worker, timeout_s=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=int, default=1000, help="pings per second offered")
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between SOS probes")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--linger-ms", type=int, default=5, help="the load producer's linger")
    parser.add_argument(
        "--give-up-ms", type=float, default=1000.0, help="two SOS in a row slower than this end the run"
    )
    args = parser.parse_args()
    with embedded_stack("tripwatch-runtime", partitions=args.partitions) as (settings, pids):
        asyncio.run(run(args, settings, pids["broker"]))


if __name__ == "__main__":
    main()
