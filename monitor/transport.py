"""The faust transport's two changes, both for want of a faust setting:

- the consumer waits at most `fetch_max_wait_ms` per fetch. faust's aiokafka driver
  hard-codes 1500, and the embedded broker (Tansu) holds every fetch for the full wait
  even when data is there, so each event would wait up to 1.5 s;
- it commits no partition past the app's `commit_cap` (see monitor.unsaved).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aiokafka
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP


class LowLatencyConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its Fetcher.
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms
        return consumer


class LowLatencyConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> LowLatencyConsumerThread:
        return LowLatencyConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def _filter_committable_offsets(self, tps: Iterable[TP]) -> dict[TP, int]:
        """faust's committable offsets, each capped by the app's `commit_cap` (monitor.unsaved):
        a ping read but not yet reflected in the table is read again after a restart."""
        offsets = {}
        for tp, offset in super()._filter_committable_offsets(tps).items():
            cap = self.app.commit_cap(tp)
            if cap is not None:
                offset = min(offset, cap)
            if self._should_commit(tp, offset):
                offsets[tp] = offset
        return offsets


class LowLatencyTransport(faust_aiokafka.Transport):
    Consumer = LowLatencyConsumer
