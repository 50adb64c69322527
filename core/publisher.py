"""A producer for the few records a process sends outside a faust app, each waited for.

The board (supervisors' actions on incidents) and outreach (the stop check-in's escalation
requests) send one record at a time and must know the broker has it before they go on.
"""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from core.settings import Settings


class AckedProducer:
    def __init__(self, settings: Settings) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap, linger_ms=1, request_timeout_ms=5000
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Returns once the broker acknowledged the record (aiokafka's default partitioner,
        murmur2 on the key, as the platform's producers use)."""
        await self._producer.send_and_wait(topic, key=key, value=value)
