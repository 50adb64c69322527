"""How close the embedded broker is to its limits, watched by `tripwatch up`.

Tansu serves a partition more slowly the more record batches it holds (docs/architecture.md:
6x the CPU per event at 12,000, 68x at 20,000, and a consumer that falls behind for good), and
it frees nothing: its memory grows with every event. So `up` counts the record batches of every
partition (each fetched once, from where the last count stopped) and reads the broker's
resident memory every `embedded_watch_s`. Past `embedded_batch_warn` batches in one partition
it logs a warning and leaves a flag in Redis (`names.BROKER_HEALTH`) that the board shows
(dashboard.health): time to move to Kafka, which has no such limit.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import redis.asyncio as aioredis
from aiokafka import AIOKafkaClient, TopicPartition
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.memory_records import MemoryRecords

from core import names
from core.clock import now_ms
from core.processes import resident_bytes
from core.settings import Settings

log = logging.getLogger(__name__)

FETCH_BYTES = 16 << 20  # per request: the partitions are read in as many requests as it takes
PARTITION_BYTES = 1 << 20
MAX_ROUNDS = 1_000  # fetches per count at most (16 GB read)
FETCH_WAIT_MS = 500  # a full partition is served slowly: a short wait brought nothing from it
OFFSET_OUT_OF_RANGE = 1
FLAG_TTL_FACTOR = 3  # the flag outlives a few missed checks, then the board forgets it


@dataclass(frozen=True)
class BrokerLoad:
    """The fullest partition and the broker's resident memory, as last counted."""

    topic: str
    partition: int
    batches: int
    rss_bytes: int
    warn_at: int

    @property
    def over(self) -> bool:
        return self.batches >= self.warn_at

    def warning(self) -> str:
        return (
            f"The embedded broker holds {self.batches:,} record batches in {self.topic}[{self.partition}] "
            f"({self.rss_bytes / 1e6:.0f} MB resident): it slows down past about 10,000 and frees "
            "nothing until restarted. Move to Kafka (docs/deployment.md)"
        )


class BatchCounter:
    """Record batches per partition, counted by reading each partition forward once."""

    def __init__(self, bootstrap: str) -> None:
        self.client = AIOKafkaClient(bootstrap_servers=bootstrap.split(","))
        self.batches: dict[TopicPartition, int] = {}
        self.next_offset: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        await self.client.bootstrap()

    async def close(self) -> None:
        await self.client.close()

    async def count(self) -> dict[TopicPartition, int]:
        """Every partition's batches, reading only what came since the last count: one fetch
        for all partitions at a time, until each reached the end it had at the start."""
        await self.client.force_metadata_update()
        by_leader: dict[int, list[TopicPartition]] = {}
        cluster = self.client.cluster
        for topic in cluster.topics():
            for partition in cluster.partitions_for_topic(topic) or ():
                tp = TopicPartition(topic, partition)
                by_leader.setdefault(cluster.leader_for_partition(tp) or -1, []).append(tp)
        for leader, tps in by_leader.items():
            if leader >= 0 and await self.client.ready(leader):
                await self._read_to_end(leader, tps)
        return dict(self.batches)

    async def _read_to_end(self, leader: int, tps: list[TopicPartition]) -> None:
        """Fetch `tps` forward to the ends the first fetch reports (what comes meanwhile is for
        the next count: under steady traffic there is always more)."""
        ends: dict[TopicPartition, int] = {}
        for _ in range(MAX_ROUNDS):
            waiting = [tp for tp in tps if tp not in ends or self.next_offset.get(tp, 0) < ends[tp]]
            if not waiting:
                return
            for tp, highwater in (await self._read_forward(leader, waiting)).items():
                ends.setdefault(tp, highwater)

    async def _read_forward(self, leader: int, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        """One fetch of every partition in `tps` from where it was left; their high-water marks
        (-1 for a partition that answered with an error: done for this count)."""
        by_topic: dict[str, list[tuple[int, int, int]]] = {}
        for tp in tps:
            by_topic.setdefault(tp.topic, []).append(
                (tp.partition, self.next_offset.get(tp, 0), PARTITION_BYTES)
            )
        # Tansu answers a fetch with no wait at all with nothing, and with a short one nothing
        # from a partition of thousands of batches
        request = FetchRequest(FETCH_WAIT_MS, 1, FETCH_BYTES, 0, list(by_topic.items()))
        response = await self.client.send(leader, request)
        highwaters = {}
        for topic, partitions in response.topics:
            for partition, error_code, highwater, *data in partitions:
                tp = TopicPartition(topic, partition)
                highwaters[tp] = highwater if self._take(tp, error_code, data[-1]) else -1
        return highwaters

    def _take(self, tp: TopicPartition, error_code: int, raw: bytes | None) -> bool:
        """Count the batches of one partition's fetched bytes; False on an error."""
        if error_code == OFFSET_OUT_OF_RANGE:  # a restarted broker: counted again from 0
            self._forget(tp)
            return False
        if error_code:
            return False
        records = MemoryRecords(raw or b"")
        while records.has_next():
            batch = records.next_batch()
            if batch.next_offset <= self.next_offset.get(tp, 0):
                continue  # a batch the last count saw already
            self.batches[tp] = self.batches.get(tp, 0) + 1
            self.next_offset[tp] = batch.next_offset
        return True

    def _forget(self, tp: TopicPartition) -> None:
        self.next_offset.pop(tp, None)
        self.batches.pop(tp, None)


def broker_rss(pid: int | None) -> int:
    if not pid:
        return 0
    try:
        return resident_bytes(pid)
    except OSError:  # not Linux, or the broker is gone (the supervisor restarts it)
        return 0


def fullest(batches: dict[TopicPartition, int], rss: int, warn_at: int) -> BrokerLoad | None:
    if not batches:
        return None
    tp, most = max(batches.items(), key=lambda item: item[1])
    return BrokerLoad(tp.topic, tp.partition, most, rss, warn_at)


async def publish(redis: aioredis.Redis, load: BrokerLoad, ttl_s: float) -> None:
    """The flag the board reads: set while over the limit, gone when not (or when `up` stops)."""
    if not load.over:
        await redis.delete(names.BROKER_HEALTH)
        return
    flag = {
        "at": now_ms(), "message": load.warning(), "topic": load.topic, "partition": load.partition,
        "batches": load.batches, "warn_at": load.warn_at, "rss_bytes": load.rss_bytes,
    }  # fmt: skip
    await redis.set(names.BROKER_HEALTH, orjson.dumps(flag), px=int(ttl_s * 1000))


class BrokerWatch:
    """One check: count, log a warning when over the limit, publish the flag."""

    def __init__(self, settings: Settings, broker_pid: Callable[[], int | None] = lambda: None) -> None:
        self.settings = settings
        self.broker_pid = broker_pid
        self.counter = BatchCounter(settings.kafka_bootstrap)
        self.redis = aioredis.from_url(settings.redis_dsn)
        self.warned_at = 0  # batches at the last warning logged

    async def check(self) -> BrokerLoad | None:
        warn_at = self.settings.embedded_batch_warn
        load = fullest(await self.counter.count(), broker_rss(self.broker_pid()), warn_at)
        if load is None:
            return None
        if load.over and load.batches >= self.warned_at + warn_at // 4:  # again every quarter more
            log.warning("%s", load.warning())
            self.warned_at = load.batches
        await publish(self.redis, load, self.settings.embedded_watch_s * FLAG_TTL_FACTOR)
        return load

    async def start(self) -> None:
        await self.counter.start()

    async def close(self) -> None:
        await self.counter.close()
        await self.redis.aclose()

    async def run(self, stop: threading.Event) -> None:
        """Check every `embedded_watch_s` until `stop`; a failed check is retried next time."""
        await self.start()
        try:
            while not stop.is_set():
                try:
                    await self.check()
                except Exception as error:  # the broker or Redis restarting: the supervisor's job
                    log.debug("broker watch skipped a check: %s", error)
                await asyncio.to_thread(stop.wait, self.settings.embedded_watch_s)
        finally:
            await self.close()


async def _watch(settings: Settings, stop: threading.Event, broker_pid: Callable[[], int | None]) -> None:
    await BrokerWatch(settings, broker_pid).run(stop)  # built in the loop: aiokafka needs one


def watch_in_thread(
    settings: Settings, stop: threading.Event, broker_pid: Callable[[], int | None]
) -> threading.Thread:
    """Run a BrokerWatch beside `up`'s supervisor loop (which is not asynchronous)."""
    thread = threading.Thread(
        target=lambda: asyncio.run(_watch(settings, stop, broker_pid)),
        name="broker-watch",
        daemon=True,
    )
    thread.start()
    return thread
