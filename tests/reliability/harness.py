"""A fault-injection harness: a broker and a Redis of a test module's own, a worker process
that can be killed with SIGKILL and started again (as a process manager would), and readers
for what came out (incidents on the topic and in Redis, dead letters).

Faults here never touch the session's shared services: every `Stack` has its own ports and
data folder. Waits are on conditions, with bounds generous enough for a loaded 2-core machine.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson
import redis as redis_sync
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from core import names
from core.ports import free_port
from core.processes import spawn, stop_process
from core.settings import Settings
from monitor.end_offsets import true_ends
from monitor.topics import ensure_topics
from monitor.worker import READY_LINE
from tripwatch.embedded import EmbeddedService, broker_service, redis_service

RULES = Path(__file__).resolve().parent / "rules"
T = TypeVar("T")


def now_ms() -> int:
    return int(time.time() * 1000)


async def eventually(
    check: Callable[[], T | Awaitable[T]], timeout_s: float, what: str, every_s: float = 0.1
) -> T:
    """Poll `check` (sync or async) until it returns something truthy; without blocking the loop."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout_s:.0f} s")
        await asyncio.sleep(every_s)


# --- services ---------------------------------------------------------------------------


@dataclass
class Stack:
    """An embedded broker and Redis on free ports, with the settings of a worker using them."""

    base: Path
    app_id: str = "tripwatch-faults"
    partitions: int = 4
    broker: EmbeddedService = field(init=False)
    redis: EmbeddedService = field(init=False)
    settings: Settings = field(init=False)

    def __post_init__(self) -> None:
        self.broker = broker_service("127.0.0.1", free_port(), self.base / "logs")
        self.redis = redis_service("127.0.0.1", free_port(), self.base / "redis")
        self.settings = Settings(
            kafka_url=f"kafka://127.0.0.1:{self.broker.port}",
            redis_url=f"redis://127.0.0.1:{self.redis.port}/0",
            data_dir=self.base / "data",
            rules_dir=RULES,
            partitions=self.partitions,
            app_id=self.app_id,
            session_timeout_s=6.0,
            deadline_tick_s=0.1,
            worker_metrics_port=0,
            outreach_port=0,
        )

    async def start(self) -> None:
        await asyncio.to_thread(self.broker.start)
        await asyncio.to_thread(self.redis.start)
        await ensure_topics(self.settings)

    def stop(self) -> None:
        self.redis.stop()
        self.broker.stop()

    def redis_client(self) -> redis_sync.Redis:
        return redis_sync.Redis.from_url(self.settings.redis_dsn, socket_timeout=5)

    # --- faults ---------------------------------------------------------------------------

    def kill_redis(self) -> int:
        return _kill(self.redis)

    async def restart_redis(self) -> None:
        """Same port, same data folder: Valkey reads its append-only file back."""
        await asyncio.to_thread(self.redis.start)

    def kill_broker(self) -> int:
        return _kill(self.broker)

    async def restart_broker(self) -> None:
        """Same port; the memory-only broker comes back empty, so the topics are created again
        with the configured partition count (as `tripwatch up` must do)."""
        await asyncio.to_thread(self.broker.start)
        await ensure_topics(self.settings)


def _kill(service: EmbeddedService) -> int:
    assert service.process is not None, f"{service.name} is not running"
    pid = service.process.pid
    os.kill(pid, signal.SIGKILL)
    service.process.wait(10)
    return pid


# --- worker and outreach processes ------------------------------------------------------------


@dataclass
class ChildProcess:
    """`python -m tripwatch.cli <command>` that can be killed with SIGKILL and started again.
    Every generation logs to its own file (`<name>-1.log`, `<name>-2.log`, ...)."""

    command: str
    settings: Settings
    log_dir: Path
    ready_line: str | None = READY_LINE
    generations: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.generations[-1]

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return bool(self.generations) and self.process.poll() is None

    async def start(self, timeout_s: float = 90.0) -> None:
        path = self.log_dir / f"{self.command}-{len(self.generations) + 1}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ) | self.settings.as_environment()
        with path.open("wb") as sink:
            process = spawn([sys.executable, "-m", "tripwatch.cli", self.command], env, sink)
        self.generations.append(process)
        self.logs.append(path)
        if self.ready_line is not None:
            await self.wait_for_line(self.ready_line, timeout_s)

    async def wait_for_line(self, text: str, timeout_s: float, after: int = 0) -> None:
        def seen() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.command} exited ({self.process.returncode}):\n{self.log()[-3000:]}"
                )
            return text in self.log()[after:]

        await eventually(seen, timeout_s, f"{text!r} in {self.logs[-1]}")

    def kill(self) -> int:
        pid = self.process.pid
        os.kill(pid, signal.SIGKILL)
        self.process.wait(10)
        return pid

    def stop(self) -> None:
        for process in self.generations:
            stop_process(self.command, process, timeout_s=20)

    def log(self, generation: int = -1) -> str:
        path = self.logs[generation]
        return path.read_text(errors="replace") if path.exists() else ""

    def all_logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')}" for path in self.logs)


def trouble_lines(log: str, limit: int = 40) -> list[str]:
    """Lines of a worker log that show an error or a crash (for assertion messages)."""
    words = ("Traceback", "Error", "rror:", "crash", "Crash", "Restarting", "WARNING", "ERROR")
    return [line[:300] for line in log.splitlines() if any(w in line for w in words)][:limit]


# --- traffic --------------------------------------------------------------------------------


@dataclass
class Sent:
    """Where one message landed."""

    topic: str
    key: str
    partition: int
    offset: int
    sent_at: int


class Mirror:
    """Produces every event, unchanged, to one or more brokers: a fault-free reference stack can
    see exactly the same input (the same timestamps) as the stack under fault."""

    def __init__(self, targets: Iterable[Stack | Settings], max_request_size: int = 1_048_576) -> None:
        self.producers = [
            AIOKafkaProducer(
                bootstrap_servers=_settings(target).kafka_bootstrap,
                linger_ms=1,
                max_request_size=max_request_size,
                request_timeout_ms=30_000,
            )
            for target in targets
        ]

    async def __aenter__(self) -> Mirror:
        for producer in self.producers:
            await producer.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for producer in self.producers:
            await producer.stop()

    async def send(self, topic: str, key: str, value: dict[str, Any] | bytes) -> list[Sent]:
        raw = value if isinstance(value, bytes) else orjson.dumps(value)
        sent_at = now_ms()
        results = await asyncio.gather(
            *(p.send_and_wait(topic, key=key.encode(), value=raw) for p in self.producers)
        )
        return [Sent(topic, key, r.partition, r.offset, sent_at) for r in results]


def _settings(target: Stack | Settings) -> Settings:
    return target if isinstance(target, Settings) else target.settings


# --- reading what came out ---------------------------------------------------------------------


async def read_topic(settings: Settings, topic: str, timeout_s: float = 30.0) -> list[Any]:
    """Every record of `topic` from the beginning up to its current end."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    try:
        await consumer.topics()  # fetches the cluster's metadata
        partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        if not partitions:
            return []  # no such topic (a restarted memory-only broker, say)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        # the embedded broker under-reports ends (monitor.end_offsets): read its last batch whole
        ends = await true_ends(settings.kafka_bootstrap.split(","), await consumer.end_offsets(partitions))
        records: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: not read to its end within {timeout_s:.0f} s")
            batches = await consumer.getmany(timeout_ms=200)
            for messages in batches.values():
                records += messages
        return records
    finally:
        await consumer.stop()


async def topic_partitions(settings: Settings) -> dict[str, int]:
    """Every topic on the broker and its partition count."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics()
    finally:
        await admin.close()
    return {t["topic"]: len(t["partitions"]) for t in described if not t.get("error_code")}


@dataclass(frozen=True)
class IncidentLog:
    """The incidents published on the topic for a set of orders, by incident id."""

    revisions: dict[str, dict[int, dict[str, Any]]]

    @classmethod
    async def read(cls, settings: Settings, prefix: str) -> IncidentLog:
        revisions: dict[str, dict[int, dict[str, Any]]] = {}
        for record in await read_topic(settings, names.INCIDENTS):
            incident = orjson.loads(record.value)
            if incident["order_id"].startswith(prefix):
                revisions.setdefault(incident["incident_id"], {}).setdefault(incident["revision"], incident)
        return cls(revisions)

    def raised(self) -> set[tuple[str, str]]:
        """(order_id, kind) of every incident ever opened."""
        return {(r[1]["order_id"], r[1]["kind"]) for r in self.revisions.values() if 1 in r}

    def openings(self) -> dict[str, int]:
        """How many times each incident went from nothing (or resolved) to open."""
        counts = {}
        for incident_id, by_revision in self.revisions.items():
            status, count = "resolved", 0
            for revision in sorted(by_revision):
                new = by_revision[revision]["status"]
                count += status == "resolved" and new != "resolved"
                status = new
            counts[incident_id] = count
        return counts

    def first(self, incident_id: str) -> dict[str, Any] | None:
        by_revision = self.revisions.get(incident_id, {})
        return by_revision[min(by_revision)] if by_revision else None


def incidents_in_redis(client: redis_sync.Redis, prefix: str) -> dict[str, dict[str, Any]]:
    """incident id -> the incident stored in Redis, for orders whose id starts with `prefix`."""
    found = {}
    for key in client.scan_iter(match=names.INCIDENT + prefix + "*", count=1000):
        raw = client.get(key)
        if raw is not None:
            incident = orjson.loads(raw)
            found[incident["incident_id"]] = incident
    return found


def raised_in_redis(client: redis_sync.Redis, prefix: str) -> set[tuple[str, str]]:
    return {(i["order_id"], i["kind"]) for i in incidents_in_redis(client, prefix).values()}


def describe(pairs: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{o}:{k}" for o, k in sorted(pairs)) or "none"
