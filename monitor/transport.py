"""The faust transport's changes, each for want of a faust setting:

- the consumer waits at most `fetch_max_wait_ms` per fetch. faust's aiokafka driver
  hard-codes 1500, and the embedded broker (Tansu) holds every fetch for the full wait
  even when data is there, so each event would wait up to 1.5 s;
- it commits no partition past the app's `commit_cap` (see monitor.unsaved);
- it commits nothing before the producer's buffer is on the broker, and a flush drains
  the buffer for real (faust's gives up after 0.1 s without a send, messages still queued);
- a seek to the committed offsets also rewinds input partitions that have no commit;
- no record of an input topic is skipped (monitor.offsets);
- the input topics' records go straight to the judge, not through faust's streams
  (monitor.direct_drain).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiokafka
from faust.transport.consumer import ensure_TP
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.transport.producer import ProducerBuffer
from faust.types import TP, FutureMessage, Message

from core.fetch_wait import adapt_fetch_wait
from monitor.direct_drain import drain_messages
from monitor.end_offsets import true_ends
from monitor.offsets import JudgedOffsets, OffsetLedger, Verdict

log = logging.getLogger(__name__)

UNSOUGHT_AFTER_MS = 15_000  # records waiting this long for faust's seek after a rebalance


class LowLatencyConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its Fetcher.
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms
        return consumer

    async def on_start(self) -> None:
        await super().on_start()
        adapt_fetch_wait(self._consumer, self.app.fetch_max_wait_ms, self.app.fetch_idle_wait_ms)

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        """faust restores changelogs up to these ends: the embedded broker under-reports them
        (monitor.end_offsets), so each is checked with a fetch."""
        reported = await super()._highwaters(partitions)
        if self.consumer.in_transaction:
            return reported
        try:
            return await true_ends(self._bootstrap_servers(), reported)
        except Exception as error:  # no worse than before: the ends the broker reported
            log.warning("checking the end offsets by a fetch failed (%s): using the reported ones", error)
            return reported

    def _bootstrap_servers(self) -> list[str]:
        transport = self.transport
        return faust_aiokafka.server_list(transport.url, transport.default_port)

    async def seek_to_committed(self) -> Mapping[TP, int]:
        return await self.call_thread(self._seek_to_committed_or_start)

    async def _seek_to_committed_or_start(self) -> Mapping[TP, int]:
        """faust re-reads from the committed offsets after every rebalance, because it drops
        what it fetched while its flow was suspended (and moves its read offset past it). But
        aiokafka seeks only partitions committed past offset 0: one with no commit yet kept its
        fetch position, past the dropped messages, and they were never read (SOS lost across a
        worker restart). Such input partitions are read again from their start."""
        consumer = self._ensure_consumer()
        committed = await consumer.seek_to_committed()
        uncommitted = [
            tp
            for tp, offset in committed.items()
            if (offset is None or offset <= 0) and tp.topic in self.app.guarded_topics
        ]
        if uncommitted:
            await consumer.seek_to_beginning(*uncommitted)
        return committed


class LowLatencyConsumer(faust_aiokafka.Consumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ledger = OffsetLedger()  # what the fetcher yields
        self.judged = JudgedOffsets()  # what the agent judged
        self._rereads: dict[TP, int] = {}
        self._next_stall_check = 0.0

    def _new_consumer_thread(self) -> LowLatencyConsumerThread:
        return LowLatencyConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: Any) -> None:
        """The app's direct topics straight to its judge (monitor.direct_drain), if it has one."""
        judge = self.app.direct_judge
        if judge is None:
            await super()._drain_messages(fetcher)
        else:
            await drain_messages(self, fetcher, judge, self.app.direct_topics)

    def take(self, tp: TP, offset: int) -> Verdict:
        """What the agent should do with this record of an input topic (monitor.offsets): judge
        it, or let it pass (judged already, or past a hole, which is then read again)."""
        verdict = self.judged.take(tp, offset, _now_ms())
        if verdict is Verdict.REREAD:
            hole = self.judged.next(tp)
            log.warning("%s[%d]: offset %d reached the agent, %s never did: reading again from it",
                        tp.topic, tp.partition, offset, hole)  # fmt: skip
            if hole is not None:
                self._rereads[tp] = hole
        return verdict

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        """faust's batch, with no record of an input topic skipped (see monitor.offsets): a
        partition whose records jump is held back for the rest of the batch and sought back.
        Seeks happen between batches only, so faust's read offset cannot move past them."""
        await self._reread_holes()
        rewind: dict[TP, int] = {}
        guarded = self.app.guarded_topics
        async for tp, message in super().getmany(timeout):
            if tp in rewind:
                continue
            if tp.topic not in guarded:
                yield tp, message
                continue
            before = self.ledger.expected(tp)
            if self.ledger.admit(tp, message.offset):
                if before is not None and message.offset > before:  # a real jump, seen twice
                    self.judged.skip_to(tp, before, message.offset)
                yield tp, message
            elif before is not None:
                rewind[tp] = before
                log.warning("%s[%d]: fetched offset %d, expected %d: reading again from %d",
                            tp.topic, tp.partition, message.offset, before, before)  # fmt: skip
        for tp, offset in rewind.items():
            await self.seek(tp, offset)

    async def _reread_holes(self) -> None:
        now = time.monotonic()
        if now >= self._next_stall_check:  # a hole at the tail: looked for once a second
            self._next_stall_check = now + 1.0
            await self._seek_unsought()
            in_flight = {message.tp for message in list(self._unacked_messages)}
            for tp in self.judged.stalled(self._available, in_flight, _now_ms()):
                hole = self.judged.next(tp)
                if hole is not None:
                    log.warning("%s[%d]: offset %d never reached the agent: reading again from it",
                                tp.topic, tp.partition, hole)  # fmt: skip
                    self._rereads[tp] = hole
        rereads, self._rereads = self._rereads, {}
        assigned = self.assignment()
        for tp, offset in rereads.items():
            if tp in assigned:
                await self.seek(tp, offset)

    def _available(self, tp: TP) -> int | None:
        """The offset past the last record of `tp` known to exist: fetched, or on the broker."""
        try:
            highwater = self.highwater(tp)
        except Exception:  # not assigned (any more) or not fetched yet
            highwater = None
        known = [offset for offset in (self.ledger.expected(tp), highwater) if offset is not None]
        return max(known, default=None)

    async def _seek_unsought(self) -> None:
        """faust seeks every partition to its committed offset once a rebalance is over; records
        that waited far longer for it (monitor.offsets) are read again by a seek of our own."""
        unsought = self.judged.unsought(_now_ms(), after_ms=UNSOUGHT_AFTER_MS)
        if unsought and self.flow_active:
            log.warning("%d partitions were never sought to their committed offsets after the "
                        "rebalance: seeking them now", len(unsought))  # fmt: skip
            await self.perform_seek()

    async def seek(self, partition: TP, offset: int) -> None:
        """faust's seek, with its read offset moved back *before* the consumer thread seeks:
        faust moves it after, and what the fetcher reads again in between was dropped as
        delivered (the records were then never read again)."""
        tp = ensure_TP(partition)
        self._read_offset[tp] = offset if offset else None
        self.ledger.reset(tp, offset)
        await super().seek(partition, offset)
        if tp.topic in self.app.guarded_topics:
            self.app.on_input_seek(tp)

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed = await super().seek_to_committed()
        now = _now_ms()
        for tp, offset in committed.items():
            # no commit yet: the partition is read from its start (see the consumer thread)
            start = offset if offset is not None and offset > 0 else 0
            handed_out = self.ledger.expected(ensure_TP(tp))
            self.ledger.reset(ensure_TP(tp), start)
            if tp.topic in self.app.guarded_topics:
                self.judged.reset(ensure_TP(tp), start, now)
                self.app.on_input_seek(ensure_TP(tp))
                if handed_out is not None and handed_out > start:
                    # What the seek fetches again can reach faust before it moves its read offset
                    # back (perform_seek does so once this returns), and be dropped as delivered:
                    # sought once more before the next fetch.
                    self._rereads[ensure_TP(tp)] = start
        return committed

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.judged.forget()  # judge nothing until sought to the committed offsets again
        await super().on_partitions_revoked(revoked)

    def _commit_cap(self, tp: TP) -> int | None:
        caps = [self.app.commit_cap(tp)]
        if tp.topic in self.app.guarded_topics:
            caps.append(self.judged.commit_cap(tp))
        return min((cap for cap in caps if cap is not None), default=None)

    def _new_offset(self, tp: TP) -> int | None:
        """faust's next offset to commit, never past the app's `commit_cap` (monitor.unsaved): a
        ping read but not yet reflected in the table is read again after a restart; nor past the
        offsets the agent has judged (monitor.offsets).

        faust forgets the acknowledged offsets it is about to commit, so the ones at or past the
        cap are hidden from it here and kept for a later commit, rather than capped afterwards.
        """
        cap = self._commit_cap(tp)
        acked = self._acked[tp]
        if cap is None or not acked or max(acked) < cap:
            return super()._new_offset(tp)
        later = [offset for offset in acked if offset >= cap]
        acked[:] = [offset for offset in acked if offset < cap]
        try:
            return super()._new_offset(tp)
        finally:
            acked.extend(later)

    def read_position(self, tp: TP) -> int | None:
        """faust's read offset of `tp`: the committed offset after a seek, else the last one
        delivered to the agents; None when not known (faust keeps no public accessor)."""
        return self._read_offset.get(tp)

    async def _commit_tps(self, tps: Any, start_new_transaction: bool) -> bool:
        # Table writes (the `trips` changelog) leave through the producer's buffer, unattached
        # to the offsets they came from: flushed first, a crash right after a commit cannot
        # lose the state that the committed events produced.
        await self.app.producer.flush()
        return await super()._commit_tps(tps, start_new_transaction)


def _now_ms() -> int:
    return int(time.time() * 1000)


class CountingBuffer(ProducerBuffer):
    """faust's producer buffer, counting the messages it was given and those it handed to the
    client, so that a flush can wait for exactly those queued before it."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.given = 0
        self.handed = 0

    def put(self, fut: FutureMessage) -> None:
        super().put(fut)
        self.given += 1

    async def _send_pending(self, fut: FutureMessage) -> None:
        try:
            await super()._send_pending(fut)
        finally:
            self.handed += 1  # a failed send is the future's to report, not the flush's

    async def drain(self, upto: int) -> None:
        """Return once the first `upto` messages given are handed to the client."""
        while self.handed < upto:
            self.message_sent.clear()
            if self.handed >= upto:
                return
            if self.should_stop:
                raise RuntimeError("cannot flush: the producer buffer is stopped")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.message_sent.wait(), timeout=1.0)


class DrainingProducer(faust_aiokafka.Producer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.app.conf.producer_threaded:  # the threaded producer keeps its own queue
            self.buffer = CountingBuffer(loop=self.loop, beacon=self.beacon)
            self.buffer.app = self.app

    async def flush(self) -> None:
        """Every message queued when called is handed to the client, then acknowledged.

        faust's buffer flush returns once 0.1 s pass without a send, messages still queued (a
        busy loop, a slow broker), and does not wait for the one being handed over. A commit
        after it went past table writes that had not left: a worker stopped then lost the
        trips those events made (a restarted worker never fired their deadlines). Messages
        queued after the call do not hold it up."""
        if isinstance(self.buffer, CountingBuffer):
            await self.buffer.drain(self.buffer.given)
        await super().flush()


class LowLatencyTransport(faust_aiokafka.Transport):
    Consumer = LowLatencyConsumer
    Producer = DrainingProducer
