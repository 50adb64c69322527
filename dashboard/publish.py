"""Supervisors' changes go on the `incidents` topic too, like the worker's (at least once)."""

from __future__ import annotations

from core import names
from core.incidents import Incident, encode_incident
from core.publisher import AckedProducer


class IncidentPublisher(AckedProducer):
    """Sends each changed incident, keyed by `incident_id`, and waits for the broker's ack.

    Called before the Redis commit: a failure refuses the action (the supervisor retries)
    rather than leaving other systems, outreach among them, unaware of it.
    """

    async def __call__(self, incident: Incident) -> None:
        await self.send(names.INCIDENTS, incident.incident_id.encode(), encode_incident(incident))
