"""Benchmark: Tripwatch's worker against faust's own ceiling and a raw consumer, in one run.

    .venv/bin/python bench/pipeline.py [--events 20000] [--latency-orders 200]
        [--active-trips N] [--rate 1000 [--rate-seconds 20]] [--workers 2] [--idle-seconds 10]

Starts its own embedded broker, Redis and one worker (`--workers N`: N in one consumer group,
which split the partitions; memory and idle CPU are theirs together) on free ports, then prints:
- with `--active-trips N`: N trips under way (created, assigned, started with a 50-point route,
  pinged) are held before measuring, `memory per active trip` is the worker's resident memory
  grown by holding them, divided by N, and the load's pings go to those trips;
- throughput: events/s through the worker (decode, state, detection), read as a backlog: the
  worker is stopped (SIGSTOP) while the load is produced and resumed, then timed, like the no-op
  agent, from its first event judged (its /metrics' count of judged events, every input topic,
  first moving: the wait before it, printed, is its idle fetch held by the broker) until that
  count has grown by the load; then, after
  the worker stops, a no-op faust agent on the same `TripwatchApp` settings (bench/noop_agent.py)
  over the same messages, also a backlog, and a raw aiokafka consumer's reads/s. The headline is
  worker / no-op (the machine is shared and noisy: compare ratios within one run, not absolute
  figures);
- cpu per event: the worker's CPU time (all its threads) over the load, and the no-op agent's over
  its messages, per event: less at the mercy of other processes than events/s on a busy machine;
- latency: from producing an event that opens an incident to the incident in Redis, p50/p95/p99,
  one order at a time; with `--rate R`, the same at a fixed offered load of R events/s (pings
  to the live trips, and an already-late order every 50 ms whose incident is timed);
- idle CPU: the worker's, broker's and Redis's share of one core while nothing is sent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import procstat  # noqa: E402  (bench/, on the path as the script's own directory)

from core import names  # noqa: E402
from core.clock import now_ms  # noqa: E402
from core.ports import free_port  # noqa: E402
from core.processes import spawn, stop_process  # noqa: E402
from core.settings import Settings  # noqa: E402
from monitor.app import MEMORY_TRIM_S  # noqa: E402
from monitor.end_offsets import true_ends  # noqa: E402
from monitor.topics import ensure_topics  # noqa: E402
from tripwatch.embedded import broker_service, redis_service  # noqa: E402


def order_created(order_id: str, promised_ts: int) -> bytes:
    return orjson.dumps({
        "event_id": f"{order_id}-c", "type": "order.created", "order_id": order_id, "ts": now_ms(),
        "passenger_id": "p", "pickup": {"lat": 52.5, "lon": 13.4}, "dropoff": {"lat": 52.6, "lon": 13.5},
        "promised_pickup_ts": promised_ts,
    })  # fmt: skip


def ping(order_id: str, n: int) -> bytes:
    step = (n % 1000) * 1e-4  # along the route of `trip_started`
    return orjson.dumps({
        "order_id": order_id, "driver_id": "d", "ts": now_ms(), "lat": 52.5 + step, "lon": 13.4 + step,
        "speed_kmh": 30.0, "accuracy_m": 5.0, "event_id": f"{order_id}-{n}",
    })  # fmt: skip


def trip_event(order_id: str, kind: str, **fields: object) -> bytes:
    return orjson.dumps(
        {"event_id": f"{order_id}-{kind}", "type": kind, "order_id": order_id, "ts": now_ms()} | fields
    )


# 50 points, pickup to dropoff, with 6 decimals as a routing engine writes them
ROUTE = [[round(52.5 + k * 2e-3, 6), round(13.4 + k * 2e-3, 6)] for k in range(50)]
DRIVER = {"id": "d", "name": "Bench Driver", "plate": "B 1234"}


async def hold_active_trips(settings: Settings, trips: int) -> None:
    """`trips` orders under way: created, assigned, started on a 50-point route, pinged twice."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=5)
    await producer.start()
    far = now_ms() + 3_600_000
    for n in range(trips):
        key = f"active-{n}"
        await producer.send(names.TRIP_EVENTS, key=key.encode(), value=order_created(key, far))
        assigned = trip_event(key, "driver.assigned", driver=DRIVER, eta_pickup_ts=far)
        await producer.send(names.TRIP_EVENTS, key=key.encode(), value=assigned)
        started = trip_event(key, "trip.started", eta_dropoff_ts=far + 1_800_000, route=ROUTE)
        await producer.send(names.TRIP_EVENTS, key=key.encode(), value=started)
        for k in range(2):
            await producer.send(names.TELEMETRY, key=key.encode(), value=ping(key, k))
    await producer.flush()
    await producer.stop()


async def produce_load(settings: Settings, events: int, active_trips: int = 0) -> None:
    """Trips with telemetry: one order.created per 20 events, pings for the rest; with
    `active_trips`, pings only, spread over the live trips."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=5)
    await producer.start()
    far = now_ms() + 3_600_000
    for n in range(events):
        if active_trips:
            key = f"active-{n % active_trips}"
            await producer.send(names.TELEMETRY, key=key.encode(), value=ping(key, 2 + n // active_trips))
            continue
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


async def worker_drain_time(settings: Settings, redis: aioredis.Redis, prefix: str = "marker") -> float:
    """When the worker has judged everything produced so far (perf_counter): see send_markers."""
    return await markers_judged(redis, await send_markers(settings, prefix))


async def send_markers(settings: Settings, prefix: str = "marker") -> list[str]:
    """One marker order per partition (already late, so it opens at once), after what was
    produced so far on that partition; their incidents say the worker has judged it."""
    from aiokafka.partitioner import murmur2

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    partitions = len(await producer.partitions_for(names.TRIP_EVENTS))
    markers: dict[int, str] = {}
    n = 0
    while len(markers) < partitions:
        key = f"{prefix}-{n}"
        n += 1
        markers.setdefault((murmur2(key.encode()) & 0x7FFFFFFF) % partitions, key)
    for key in markers.values():
        await producer.send(names.TRIP_EVENTS, key=key.encode(), value=order_created(key, now_ms() - 600_000))
    await producer.stop()
    return list(markers.values())


async def events_judged(metrics_ports: list[int]) -> float:
    """The workers' count of input events judged (`tripwatch_events_total`, all topics)."""

    def scrape(port: int) -> float:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            lines = response.read().decode().splitlines()
        return sum(
            float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith("tripwatch_events_total{")
        )

    return sum([await asyncio.to_thread(scrape, port) for port in metrics_ports])


async def first_judged(metrics_ports: list[int], before: float) -> tuple[float, float]:
    """perf_counter and the count once the workers' count of judged events has passed `before`
    (looked at every 5 ms: the workers are waiting for their fetch, the scrape costs them little)."""
    while (count := await events_judged(metrics_ports)) <= before:
        await asyncio.sleep(0.005)
    return time.perf_counter(), count


async def markers_judged(redis: aioredis.Redis, markers: list[str]) -> float:
    """perf_counter once every marker's incident is in Redis."""
    keys = [names.incident_key(f"{key}:pickup_delay") for key in markers]
    while await redis.exists(*keys) < len(keys):
        await asyncio.sleep(0.01)
    return time.perf_counter()


@contextlib.contextmanager
def paused(pids: list[int]) -> Iterator[Callable[[], float]]:
    """The processes stopped (SIGSTOP) inside the block; the callable it yields resumes them
    (SIGCONT) and returns when (perf_counter). Resumed on the way out in any case."""
    resumed_at: list[float] = []

    def resume() -> float:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        resumed_at.append(time.perf_counter())
        return resumed_at[-1]

    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield resume
    finally:
        if not resumed_at:
            resume()


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


async def offered_load_latency(
    settings: Settings, redis: aioredis.Redis, rate: int, seconds: float, active_trips: int
) -> list[float]:
    """Pings at `rate` events/s to the live trips (or to trips of their own) for `seconds`, with an
    already-late order every 50 ms among them: each order's time to its incident in Redis."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=1)
    await producer.start()
    sent: dict[str, float] = {}
    results: list[float] = []
    trips = active_trips or max(1, rate // 10)
    started = time.perf_counter()
    n = 0
    while (elapsed := time.perf_counter() - started) < seconds:
        while n < elapsed * rate:  # catch up to the offered rate, in small bursts
            if n % 50 == 0:  # 50 ms apart at 1,000 events/s
                key = f"rate-{n}"
                sent[key] = time.perf_counter()
                await producer.send(
                    names.TRIP_EVENTS, key=key.encode(), value=order_created(key, now_ms() - 600_000)
                )
            else:
                key = f"active-{n % trips}" if active_trips else f"rate-trip-{n % trips}"
                await producer.send(names.TELEMETRY, key=key.encode(), value=ping(key, 1_000 + n))
            n += 1
        await collect_incidents(redis, sent, results)
        await asyncio.sleep(0.005)
    deadline = time.perf_counter() + 30
    while sent and time.perf_counter() < deadline:
        await collect_incidents(redis, sent, results)
        await asyncio.sleep(0.005)
    await producer.stop()
    return results


async def collect_incidents(redis: aioredis.Redis, sent: dict[str, float], results: list[float]) -> None:
    """Move the orders whose incident is in Redis from `sent` to `results` (ms since sent)."""
    if not sent:
        return
    keys = list(sent)
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.exists(names.incident_key(f"{key}:pickup_delay"))
        flags = await pipe.execute()
    now = time.perf_counter()
    for key, flag in zip(keys, flags, strict=True):
        if flag:
            results.append((now - sent.pop(key)) * 1000)


async def keep_alive(settings: Settings, trips: int, period_s: float = 60.0) -> None:
    """Ping each live trip once per `period_s`, so none goes silent (`signal_lost`) while timed."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=5)
    await producer.start()
    try:
        n = 0
        while True:
            key = f"active-{n % trips}"
            await producer.send(names.TELEMETRY, key=key.encode(), value=ping(key, 5_000 + n))
            n += 1
            await asyncio.sleep(period_s / trips)
    finally:
        await producer.stop()


async def measure_worker(
    args: argparse.Namespace,
    settings: Settings,
    redis: aioredis.Redis,
    worker_pids: list[int],
    metrics_ports: list[int],
) -> dict[str, object]:
    out: dict[str, object] = {}
    if args.active_trips:
        rss_before = await settled_rss(worker_pids)
        held_from = time.perf_counter()
        await hold_active_trips(settings, args.active_trips)
        await worker_drain_time(settings, redis, prefix="held")
        # Each trip's first ping of the load is its checkpoint write whatever N is (holding
        # 20,000 trips takes longer than the checkpoint interval, holding 1,000 does not).
        await asyncio.sleep(max(0.0, settings.telemetry_checkpoint_s - (time.perf_counter() - held_from)))
        out["per_trip"] = (await settled_rss(worker_pids) - rss_before) / args.active_trips
    # Like the no-op agent after it, the worker reads the load as a backlog: it is stopped
    # (SIGSTOP) while the load is produced, so that it does not share the cores with the
    # producer, and timed from SIGCONT until its own count of judged events (every input
    # topic's, from its /metrics) has grown by the load.
    judged_before = await events_judged(metrics_ports)
    with paused(worker_pids) as resumed:
        produced = time.perf_counter()
        await produce_load(settings, args.events, args.active_trips)
        if time.perf_counter() - produced > settings.session_timeout_s * 0.6:
            print("warning: producing the load took close to the session timeout; the worker may rebalance")
        cpu_before = sum(procstat.cpu_seconds(pid) for pid in worker_pids)
        began = resumed()
    # Timed, like the no-op agent, from its first event judged: what comes before is its idle
    # fetch's wait (up to fetch_idle_wait_ms, held by the broker), not throughput.
    first_at, first_count = await first_judged(metrics_ports, judged_before)
    out["wake_ms"] = (first_at - began) * 1000
    while await events_judged(metrics_ports) < judged_before + args.events:
        await asyncio.sleep(0.1)  # a scrape costs the worker a thread: not too often
    out["worker_rate"] = (judged_before + args.events - first_count) / (time.perf_counter() - first_at)
    cpu = sum(procstat.cpu_seconds(pid) for pid in worker_pids) - cpu_before
    out["worker_cpu_us"] = cpu / args.events * 1e6
    alive = asyncio.create_task(keep_alive(settings, args.active_trips)) if args.active_trips else None
    try:
        out["latency"] = await latencies(settings, redis, args.latency_orders)
        if args.rate:
            out["rate_latency"] = await offered_load_latency(
                settings, redis, args.rate, args.rate_seconds, args.active_trips
            )
    finally:
        if alive is not None:
            alive.cancel()
    return out


async def settled_rss(pids: list[int]) -> int:
    """The workers' resident memory once they have finished what they were doing, their
    housekeeping included (they give freed memory back every MEMORY_TRIM_S: monitor.memory_trim)."""
    await asyncio.sleep(MEMORY_TRIM_S + 1.0)
    return sum(procstat.rss_bytes(pid) for pid in pids)


async def noop_agent_rate(settings: Settings, redis: aioredis.Redis) -> tuple[float, float]:
    """faust's own ceiling: bench/noop_agent.py over every message on the input topics; its
    events/s and CPU time per event (µs)."""
    expected = await input_message_count(settings)
    env = (
        dict(os.environ)
        | settings.as_environment()
        | {"TRIPWATCH_LOG_LEVEL": "warning", "BENCH_NOOP_EVENTS": str(expected)}
    )
    agent = subprocess.Popen([sys.executable, str(ROOT / "bench" / "noop_agent.py")], env=env, cwd=ROOT)
    try:
        while (rate := await redis.get("bench:noop-rate")) is None:
            if agent.poll() is not None:
                raise RuntimeError(f"the no-op agent exited with code {agent.returncode}")
            await asyncio.sleep(0.1)
        return float(rate), float(await redis.get("bench:noop-cpu-us") or 0)
    finally:
        agent.terminate()
        agent.wait(30)


async def input_message_count(settings: Settings) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    await consumer.start()
    try:
        tps = [
            TopicPartition(t, p) for t in names.INPUT_TOPICS for p in consumer.partitions_for_topic(t) or ()
        ]
        ends = await true_ends(settings.kafka_bootstrap.split(","), await consumer.end_offsets(tps))
        return sum(ends.values())  # the embedded broker under-reports them (monitor.end_offsets)
    finally:
        await consumer.stop()


async def run(args: argparse.Namespace, settings: Settings, stack: dict[str, int]) -> None:
    redis = aioredis.from_url(settings.redis_dsn)
    await ensure_topics(settings)
    started = time.perf_counter()
    ports = [free_port() for _ in range(args.workers)]
    workers = [start_worker(settings.replace(worker_metrics_port=port)) for port in ports]
    try:
        await wait_ready(redis, settings, args.workers)
        print(
            f"{args.workers} worker(s) ready after {time.perf_counter() - started:.1f} s; "
            f"producing {args.events} events ...",
            flush=True,
        )
        figures = await measure_worker(args, settings, redis, [worker.pid for worker in workers], ports)
        pids = stack | {
            f"worker{n + 1}" if args.workers > 1 else "worker": w.pid for n, w in enumerate(workers)
        }
        idle = await asyncio.to_thread(procstat.cpu_share, pids, args.idle_seconds)
    finally:
        for worker in workers:
            stop_process("worker", worker, timeout_s=30)
    noop_rate, figures["noop_cpu_us"] = await noop_agent_rate(settings, redis)
    await redis.aclose()
    raw_rate = await raw_consumer_rate(settings, args.events)
    report(args, figures, noop_rate, raw_rate, idle)


def report(
    args: argparse.Namespace,
    figures: dict[str, object],
    noop_rate: float,
    raw_rate: float,
    idle: dict[str, float],
) -> None:
    worker_rate = figures["worker_rate"]
    assert isinstance(worker_rate, float)
    print(f"throughput  raw consumer (decode only): {raw_rate:10.0f} events/s   (baseline)")
    print(
        f"throughput  faust no-op agent:          {noop_rate:10.0f} events/s   ratio {noop_rate / raw_rate:.3f}"
    )
    print(
        f"throughput  tripwatch worker:          {worker_rate:10.0f} events/s   ratio {worker_rate / raw_rate:.3f}"
        f"   worker / no-op {worker_rate / noop_rate:.2f}"
        + (f"   at {args.active_trips} active trips" if args.active_trips else "")
        + (f"   ({args.workers} workers)" if args.workers > 1 else "")
    )
    print(f"            (the worker's first event judged {figures['wake_ms']:.0f} ms after it was resumed)")
    worker_cpu, noop_cpu = figures["worker_cpu_us"], figures["noop_cpu_us"]
    assert isinstance(worker_cpu, float) and isinstance(noop_cpu, float)
    print(
        f"cpu per event  faust no-op agent: {noop_cpu:.0f} µs; tripwatch worker: {worker_cpu:.0f} µs"
        f"   no-op / worker {noop_cpu / max(worker_cpu, 1e-9):.2f}"
    )
    if "per_trip" in figures:
        print(f"memory per active trip: {figures['per_trip']:.0f} B   ({args.active_trips} trips)")
    print_latency("latency     event -> incident in Redis:", figures["latency"])
    if args.rate:
        print_latency(f"latency     at {args.rate} events/s offered:", figures["rate_latency"])
    shares = ", ".join(f"{name} {share * 100:.1f} %" for name, share in idle.items())
    print(f"idle cpu    {shares}; stack {sum(idle.values()) * 100:.1f} % of one core")


def print_latency(title: str, values: object) -> None:
    assert isinstance(values, list)
    if not values:
        print(f"{title} no incident seen")
        return
    print(
        f"{title} p50 {percentile(values, 50):.1f} ms, "
        f"p95 {percentile(values, 95):.1f} ms, p99 {percentile(values, 99):.1f} ms ({len(values)} orders)"
    )


def start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = dict(os.environ) | settings.as_environment() | {"TRIPWATCH_LOG_LEVEL": "warning"}
    return spawn([sys.executable, "-m", "tripwatch.cli", "worker"], env, cwd=ROOT)


async def wait_ready(redis: aioredis.Redis, settings: Settings, workers: int = 1) -> None:
    """Ready = a probe order is judged (the group has joined, the worker consumes), and, with
    several workers, each reports input partitions of its own (the group has settled)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    await producer.send_and_wait(
        names.TRIP_EVENTS, key=b"probe", value=order_created("probe", now_ms() - 600_000)
    )
    await producer.stop()
    while not await redis.exists(names.incident_key("probe:pickup_delay")):
        await asyncio.sleep(0.05)
    while workers > 1 and await workers_assigned(redis) < workers:
        await asyncio.sleep(0.2)


async def workers_assigned(redis: aioredis.Redis) -> int:
    """How many workers report input partitions of their own, as of their latest health report."""
    reports = [orjson.loads(raw) for raw in (await redis.hgetall(names.WORKER_HEALTH)).values()]
    return sum(1 for report in reports if report.get("assigned") and now_ms() - report["at"] < 5_000)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--latency-orders", type=int, default=200)
    parser.add_argument("--active-trips", type=int, default=0, help="live trips held before measuring")
    parser.add_argument("--rate", type=int, default=0, help="offered events/s for a latency-under-load run")
    parser.add_argument("--rate-seconds", type=float, default=20.0)
    parser.add_argument(
        "--workers", type=int, default=1, help="workers in one group, splitting the partitions"
    )
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="how long idle CPU is measured")
    args = parser.parse_args()
    with embedded_stack("tripwatch-bench") as (settings, pids):
        asyncio.run(run(args, settings, pids))


@contextlib.contextmanager
def embedded_stack(app_id: str, **overrides: Any) -> Iterator[tuple[Settings, dict[str, int]]]:
    """An embedded broker and Redis on free ports for one bench run: the settings that point at
    them (the full rule pack, `overrides` on top) and their pids by name. Stopped on the way out."""
    with tempfile.TemporaryDirectory() as tmp:
        broker = broker_service("127.0.0.1", free_port(), Path(tmp))
        redis = redis_service("127.0.0.1", free_port(), Path(tmp) / "redis")
        broker.start()
        redis.start()
        try:
            settings = Settings(
                kafka_url=f"kafka://127.0.0.1:{broker.port}", redis_url=f"redis://127.0.0.1:{redis.port}/0",
                rules_dir=ROOT / "rules" / "pack", session_timeout_s=6.0, app_id=app_id, **overrides,
            )  # fmt: skip
            yield settings, {"broker": broker.pid, "redis": redis.pid}
        finally:
            redis.stop()
            broker.stop()


if __name__ == "__main__":
    main()
