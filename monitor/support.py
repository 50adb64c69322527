"""The `support-contacts` input: each contact matched to an incident, or raising one about safety.

A contact about safety on an order without an open safety incident raises
`passenger_reported_safety` at once (a person said it, so it is true): critical, a safety
kind, so it pages and no budget or silence holds it. Then it is matched like any contact.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from core.incidents import PASSENGER_REPORTED_SAFETY, IncidentChange
from core.models import SupportContact
from monitor.contact_store import ContactStore
from monitor.contacts import Match, match_contact, needs_safety_incident

log = logging.getLogger(__name__)

RULE_ID = "passenger-reported-safety"  # not a rule file: raised by the contact itself
RaiseIncident = Callable[[IncidentChange], Awaitable[None]]


def safety_change(contact: SupportContact) -> IncidentChange:
    """The incident a contact about safety raises on its order."""
    if contact.order_id is None:
        raise ValueError("a safety incident needs the contact's order_id")
    return IncidentChange(
        action="open",
        kind=PASSENGER_REPORTED_SAFETY,
        order_id=contact.order_id,
        passenger_id=contact.passenger_id,
        rule_id=RULE_ID,
        rule_version="builtin",
        severity="critical",
        trigger_ts=contact.ts,
        summary=f"the passenger told support ({contact.channel}) they do not feel safe",
        details={
            "contact_event_id": contact.event_id,
            "channel": contact.channel,
            "case_ref": contact.case_ref,
        },
        reason="support contact about safety, no open safety incident on the order",
    )


class SupportContacts:
    def __init__(self, store: ContactStore, raise_incident: RaiseIncident) -> None:
        self.store = store
        self.raise_incident = raise_incident

    async def on_contact(self, contact: SupportContact, now_ms: int) -> Match | None:
        """Record the contact once; a contact read again changes nothing."""
        recorded = await self.store.recorded_match(contact.event_id)
        if recorded is not None:
            return recorded
        candidates = await self.store.candidates(contact)
        if needs_safety_incident(contact, candidates):
            log.warning("%s: passenger reported a safety concern to support", contact.order_id)
            await self.raise_incident(safety_change(contact))
            candidates = await self.store.candidates(contact)
        return await self.store.write(contact, match_contact(contact, candidates), now_ms)
