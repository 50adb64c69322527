"""The trip log written in batches: one Redis round trip for whatever the agent read meanwhile.

Awaiting a Redis write for every trip event and track point held the one agent that serves
every partition for a round trip each time. Instead the agent queues the entries and a writer
task appends them, one pipeline per batch, while the agent reads on; whatever queues during
a write goes in the next one.

Nothing is lost by not waiting: the consumer commits no offset at or past the oldest entry
not yet written (`commit_cap`), so a crash reads those events again (readers de-duplicate).
Before an incident is raised, the log is flushed (`flush`): outreach reads the trip's facts
from it. During a Redis outage the writer retries (monitor.durable) and the agent stops
once `max_queued` entries wait, as it did when it awaited every write.
"""

from __future__ import annotations

import asyncio
import logging

from faust.types import TP

from core import models
from core.trip_log import Entry, TripLog
from monitor.durable import until_done

log = logging.getLogger(__name__)

RETRY_AFTER_BUG_S = 1.0


class TripLogWriter:
    def __init__(self, trip_log: TripLog, max_queued: int = 5_000) -> None:
        self.trip_log = trip_log
        self.max_queued = max_queued
        self._queued: list[Entry] = []
        self._queued_from: dict[TP, int] = {}  # tp -> the oldest offset whose entry is queued
        self._writing_from: dict[TP, int] = {}  # the same for the batch being written
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    async def add(self, event: models.InputEvent, tp: TP, offset: int) -> None:
        """Queue what `event` (read at `tp`, `offset`) adds to the log; waits only when full."""
        entry = self.trip_log.entry(event)
        if entry is None:
            return
        self._queued.append(entry)
        self._queued_from[tp] = min(offset, self._queued_from.get(tp, offset))  # a seek reads back
        self._wake.set()
        if len(self._queued) >= self.max_queued:
            await self.flush()

    def commit_cap(self, tp: TP) -> int | None:
        """The highest offset `tp` may be committed at; None when none of its entries wait."""
        caps = [cap for cap in (self._queued_from.get(tp), self._writing_from.get(tp)) if cap is not None]
        return min(caps, default=None)

    async def flush(self) -> None:
        """Return once everything queued before the call is in Redis."""
        await self._write_batch()

    async def run(self) -> None:
        """The writer task: a batch whenever entries wait."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._write_batch()
            except Exception:  # a bug, not an outage: the entries stay queued, commits stay held
                log.exception("writing the trip log failed; retrying")
                await asyncio.sleep(RETRY_AFTER_BUG_S)
                self._wake.set()

    async def _write_batch(self) -> None:
        async with self._lock:
            if not self._queued:
                return
            batch, self._writing_from = self._queued, self._queued_from
            self._queued, self._queued_from = [], {}
            try:
                await until_done(lambda: self.trip_log.write(batch), "writing the trip log")
            except BaseException:
                self._queued[:0] = batch  # first again, in order, with their offsets
                for tp, offset in self._writing_from.items():
                    self._queued_from[tp] = min(offset, self._queued_from.get(tp, offset))
                raise
            finally:
                self._writing_from = {}

    def forget(self, order_id: str) -> None:
        """The trip is over for the worker (expired): see TripLog.forget."""
        self.trip_log.forget(order_id)

    def __len__(self) -> int:
        return len(self._queued)
