"""Supervisors' changes go on the `incidents` topic too, like the worker's (at least once)."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaProducer

from core import names
from core.incidents import Incident, encode_incident
from core.settings import Settings

log = logging.getLogger(__name__)


class IncidentPublisher:
    """Sends each changed incident, keyed by `incident_id`, and waits for the broker's ack.

    Called before the Redis commit: a failure refuses the action (the supervisor retries)
    rather than leaving other systems, outreach among them, unaware of it.
    """

    def __init__(self, settings: Settings) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap, linger_ms=1, request_timeout_ms=5000
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def __call__(self, incident: Incident) -> None:
        await self._producer.send_and_wait(
            names.INCIDENTS, key=incident.incident_id.encode(), value=encode_incident(incident)
        )
