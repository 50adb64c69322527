"""Benchmark: how the embedded broker (Tansu) serves a partition as its record batches pile up.

    .venv/bin/python bench/broker_batches.py [--sizes 2000,8000,12000,20000] [--messages 100]

For each size it starts a fresh embedded broker, fills one partition with that many single-record
batches (what a producer sending events one by one writes; `--records-per-batch N` for a
producer that batches), then lets a consumer at the tail
receive `--messages` new events produced at 20 per second, and prints Tansu's CPU time per
delivered event and the delivery latency (p50 and max), with the CPU as a ratio against the
smallest size, measured in the same run. A consumer that cannot keep up with 20 events/s on one
partition shows as a latency that grows to seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.ports import free_port  # noqa: E402
from tripwatch.embedded import broker_service  # noqa: E402

TOPIC = "batches"
RATE_PER_S = 20


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def fill(producer: AIOKafkaProducer, size: int, per_batch: int) -> None:
    """`size` batches of `per_batch` records each in the one partition."""
    for _ in range(size):
        if per_batch == 1:
            await producer.send_and_wait(TOPIC, b"x" * 200)  # one batch each
            continue
        batch = producer.create_batch()
        for _ in range(per_batch):
            batch.append(key=None, value=b"x" * 200, timestamp=None)
        await (await producer.send_batch(batch, TOPIC, partition=0))


async def measure(size: int, messages: int, folder: Path, per_batch: int = 1) -> tuple[float, float, float]:
    """(broker CPU seconds per delivered event, latency p50 s, latency max s) at `size` batches."""
    service = broker_service("127.0.0.1", free_port(), folder)
    with service:
        boot = f"127.0.0.1:{service.port}"
        admin = AIOKafkaAdminClient(bootstrap_servers=boot)
        await admin.start()
        await admin.create_topics([NewTopic(TOPIC, 1, 1)])
        await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=boot, linger_ms=0)
        consumer = AIOKafkaConsumer(bootstrap_servers=boot, fetch_max_wait_ms=10, enable_auto_commit=False)
        await producer.start()
        await consumer.start()
        try:
            await fill(producer, size, per_batch)
            tp = TopicPartition(TOPIC, 0)
            consumer.assign([tp])
            await consumer.seek_to_end(tp)
            latencies = await _deliver(producer, consumer, tp, messages, service.process.pid)
        finally:
            await consumer.stop()
            await producer.stop()
    return latencies


async def _deliver(
    producer: AIOKafkaProducer, consumer: AIOKafkaConsumer, tp: TopicPartition, messages: int, pid: int
) -> tuple[float, float, float]:
    async def produce() -> None:
        for _ in range(messages):
            await producer.send_and_wait(TOPIC, repr(time.time()).encode())
            await asyncio.sleep(1 / RATE_PER_S)

    cpu_before = cpu_seconds(pid)
    sending = asyncio.ensure_future(produce())
    latencies: list[float] = []
    give_up = time.monotonic() + messages / RATE_PER_S * 20
    while len(latencies) < messages and time.monotonic() < give_up:
        for record in (await consumer.getmany(tp, timeout_ms=100)).get(tp, []):
            if not record.value.startswith(b"x"):  # the end Tansu reports leaves the fill's last batch in
                latencies.append(time.time() - float(record.value))
    await sending
    cpu = cpu_seconds(pid) - cpu_before
    latencies.sort()
    return cpu / max(len(latencies), 1), latencies[len(latencies) // 2], latencies[-1]


async def run(sizes: list[int], messages: int, per_batch: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tripwatch-bench-") as folder:
        baseline = None
        print(
            f"{'batches':>8}  {'broker CPU per event':>21}  {'vs smallest':>11}  {'latency p50':>11}  {'max':>8}"
        )
        for size in sizes:
            cpu, p50, worst = await measure(size, messages, Path(folder) / str(size), per_batch)
            baseline = baseline or cpu
            print(
                f"{size:>8}  {cpu * 1000:>18.1f} ms  {cpu / baseline:>10.1f}x  {p50 * 1000:>8.0f} ms"
                f"  {worst * 1000:>5.0f} ms",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="2000,8000,12000,20000", help="batches per partition, comma-separated"
    )
    parser.add_argument("--messages", type=int, default=100, help="events delivered at the tail per size")
    parser.add_argument(
        "--records-per-batch",
        type=int,
        default=1,
        help="records in each batch of the fill (a producer's linger)",
    )
    args = parser.parse_args()
    asyncio.run(run([int(size) for size in args.sizes.split(",")], args.messages, args.records_per_batch))


if __name__ == "__main__":
    main()
