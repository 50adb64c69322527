"""What a consumer's fetch wait costs the embedded broker idle, and what it adds to the first
event after a quiet spell.

For each wait given: one consumer over 4 topics of 8 partitions (`--partitions`), idle for 10 s (the broker's
share of a core), then 15 single records sent 0.2-1.2 s apart (each one's latency to the consumer).

    .venv/bin/python bench/fetch_wait.py 10 100 250 500 1000 [--partitions 32]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import procstat  # noqa: E402  (bench/, on the path as the script's own directory)

from core.ports import free_port  # noqa: E402
from tripwatch.embedded import broker_service  # noqa: E402

TOPICS, RECORDS = 4, 15


async def create_topics(bootstrap: str, topics: list[str], partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1) for topic in topics])
    finally:
        await admin.close()


async def read_into(consumer: AIOKafkaConsumer, latencies: list[float]) -> None:
    while True:
        for records in (await consumer.getmany(timeout_ms=1000)).values():
            latencies += [time.time() * 1000 - int(record.value) for record in records]


async def measure(bootstrap: str, broker_pid: int, wait_ms: int, partitions: int) -> None:
    topics = [f"wait-{wait_ms}-{n}" for n in range(TOPICS)]
    await create_topics(bootstrap, topics, partitions)
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, fetch_max_wait_ms=wait_ms, auto_offset_reset="latest"
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await consumer.start()
    await producer.start()
    latencies: list[float] = []
    reader = asyncio.create_task(read_into(consumer, latencies))
    try:
        await asyncio.sleep(2)
        idle = (await asyncio.to_thread(procstat.cpu_share, {"broker": broker_pid}, 10))["broker"]
        for n in range(RECORDS):
            await asyncio.sleep(random.uniform(0.2, 1.2))
            await producer.send_and_wait(topics[n % TOPICS], value=str(int(time.time() * 1000)).encode())
        await asyncio.sleep(wait_ms / 1000 + 0.5)
    finally:
        reader.cancel()
        await consumer.stop()
        await producer.stop()
    latencies.sort()
    print(
        f"{TOPICS}x{partitions} partitions, fetch wait {wait_ms:5d} ms: broker idle {idle * 100:4.1f} % of a core; first event after quiet: "
        f"median {latencies[len(latencies) // 2]:.0f} ms, max {latencies[-1]:.0f} ms ({len(latencies)} records)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("waits", type=int, nargs="*", default=[10, 100, 500], help="fetch waits, ms")
    parser.add_argument("--partitions", type=int, default=8, help="of each of the 4 topics")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = broker_service("127.0.0.1", free_port(), Path(tmp))
        broker.start()
        try:
            for wait_ms in args.waits:
                asyncio.run(measure(f"127.0.0.1:{broker.port}", broker.pid, wait_ms, args.partitions))
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
