"""A faust transport whose consumer waits at most `fetch_max_wait_ms` per fetch.

faust's aiokafka driver hard-codes `fetch_max_wait_ms=1500`, and the embedded broker
(Tansu) holds every fetch for the full wait even when data is there, so each event
would wait up to 1.5 s. faust has no setting for it; this is the one place we change it.
"""

from __future__ import annotations

from typing import Any

import aiokafka
from faust.transport.drivers import aiokafka as faust_aiokafka


class LowLatencyConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its Fetcher.
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms
        return consumer


class LowLatencyConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> LowLatencyConsumerThread:
        return LowLatencyConsumerThread(self, loop=self.loop, beacon=self.beacon)


class LowLatencyTransport(faust_aiokafka.Transport):
    Consumer = LowLatencyConsumer
