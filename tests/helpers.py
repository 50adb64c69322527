"""Helpers shared by the tests that talk to the real broker and Redis."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from core.settings import Settings


def wait_for_log(path: Path, text: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise RuntimeError(f"process exited ({process.returncode}):\n{path.read_text(errors='replace')}")
        time.sleep(0.1)
    raise TimeoutError(
        f"{text!r} not in {path} after {timeout_s} s:\n{path.read_text(errors='replace')[-3000:]}"
    )


class Producer:
    """Produces contract events keyed like the platform's producers do."""

    def __init__(self, kafka: AIOKafkaProducer) -> None:
        self.kafka = kafka

    async def send(self, topic: str, key: str, value: dict[str, Any] | bytes) -> None:
        raw = value if isinstance(value, bytes) else orjson.dumps(value)
        await self.kafka.send_and_wait(topic, key=key.encode(), value=raw)


async def consume_until(
    settings: Settings,
    topic: str,
    predicate: Callable[[dict[str, Any]], bool],
    timeout_s: float = 20.0,
) -> dict[str, Any]:
    """Read `topic` from the beginning until a JSON message matches `predicate`; its value."""
    record = await consume_record_until(settings, topic, predicate, timeout_s)
    return orjson.loads(record.value)


async def consume_record_until(
    settings: Settings,
    topic: str,
    predicate: Callable[[dict[str, Any]], bool],
    timeout_s: float = 20.0,
) -> Any:
    """Like `consume_until`, but the whole record (key, partition, offset, value)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for messages in batches.values():
                for message in messages:
                    if _matches(predicate, message.value):
                        return message
        raise TimeoutError(f"no matching message on {topic} within {timeout_s} s")
    finally:
        await consumer.stop()


def _matches(predicate: Callable[[dict[str, Any]], bool], raw: bytes | None) -> bool:
    """Input topics hold the dead-letter tests' bad bytes too: those never match."""
    try:
        value = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        return False
    return isinstance(value, dict) and predicate(value)


def wait_until(check: Callable[[], Any], timeout_s: float = 20.0, interval_s: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval_s)
    raise TimeoutError(f"condition not met within {timeout_s} s")


def now_ms() -> int:
    return int(time.time() * 1000)


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) gives `key`."""
    from aiokafka.partitioner import murmur2

    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def key_on_same_partition(key: str, partitions: int, prefix: str = "marker") -> str:
    """Another key that lands on `key`'s partition: events sent to it later are read later."""
    target = partition_of(key, partitions)
    for n in range(10_000):
        candidate = f"{prefix}-{key}-{n}"
        if partition_of(candidate, partitions) == target:
            return candidate
    raise AssertionError("no key found")  # unreachable with murmur2's spread
