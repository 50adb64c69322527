"""Support contacts matched to incidents: did the passenger hear from us before they asked?

Pure functions; Redis reads and writes are in `monitor.contact_store`. A contact is matched
to one of the passenger's incidents opened within `LOOKBACK_MS` before it (or up to
`LATE_MS` after it: detection may trail a passenger who noticed first): to the named order's
incidents when the contact names one, else to any of the passenger's. The contact's `topic`
breaks ties (a `delay` contact goes to the pickup delay, not the payment failure of the same
trip); then the incident opened last before the contact, then the nearest in time.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.clock import span
from core.incidents import PASSENGER_REPORTED_SAFETY, SAFETY_KINDS
from core.models import SupportContact

LOOKBACK_MS = 6 * 3600_000  # "the last hours": an incident older than this is another story
LATE_MS = 15 * 60_000  # an incident detected this long after the contact still drew it
# The kinds a contact's topic is about (a tie-breaker, never a filter).
TOPIC_KINDS: dict[str, frozenset[str]] = {
    "delay": frozenset({"pickup_delay", "trip_delay"}),
    "cancellation": frozenset({"driver_cancellation", "system_cancellation"}),
    "route": frozenset({"route_deviation", "long_stop", "early_end", "trip_delay"}),
    "payment": frozenset({"payment_failure", "double_charge"}),
    "safety": SAFETY_KINDS,
}
VERBS = {"call": "called", "chat": "wrote in chat", "email": "e-mailed", "app": "used the in-app form"}


@dataclass(frozen=True)
class Candidate:
    """One of the passenger's incidents, with our first delivered message about it (if any)."""

    incident_id: str
    kind: str
    order_id: str
    status: str
    opened_at: int
    first_message_at: int | None = None
    first_message_channel: str | None = None
    raised_by: str | None = None  # the contact's event_id that raised it (passenger_reported_safety)


@dataclass(frozen=True)
class Match:
    incident_id: str
    kind: str
    order_id: str
    by: str  # "order" | "passenger"
    told_first: bool  # our first message was delivered before the contact
    lead_ms: int | None  # our first message -> the contact (negative: we spoke after)
    raised: bool  # the contact itself raised the incident (it cannot have been told first)
    reason: str


def match_contact(contact: SupportContact, candidates: list[Candidate]) -> Match | None:
    """The incident this contact is about, or None when none of the passenger's fits."""
    eligible = [c for c in candidates if contact.ts - LOOKBACK_MS <= c.opened_at <= contact.ts + LATE_MS]
    if contact.order_id is not None:
        eligible = [c for c in eligible if c.order_id == contact.order_id]
    if not eligible:
        return None
    best = min(eligible, key=lambda c: _rank(contact, c))
    return _match(contact, best)


def _rank(contact: SupportContact, candidate: Candidate) -> tuple[bool, bool, bool, int]:
    """Smallest first: the incident this contact raised, then one the topic names, then one
    opened before the contact, then the nearest in time."""
    raised = candidate.raised_by == contact.event_id
    fits = candidate.kind in TOPIC_KINDS.get(contact.topic or "", frozenset())
    before = candidate.opened_at <= contact.ts
    return (not raised, not fits, not before, abs(contact.ts - candidate.opened_at))


def _match(contact: SupportContact, incident: Candidate) -> Match:
    raised = incident.raised_by == contact.event_id
    first = incident.first_message_at
    told_first = not raised and first is not None and first <= contact.ts
    lead_ms = contact.ts - first if first is not None else None
    return Match(
        incident_id=incident.incident_id,
        kind=incident.kind,
        order_id=incident.order_id,
        by="order" if contact.order_id is not None else "passenger",
        told_first=told_first,
        lead_ms=lead_ms,
        raised=raised,
        reason=reason(contact, incident, raised),
    )


def reason(contact: SupportContact, incident: Candidate, raised: bool = False) -> str:
    """One line for people: "passenger called about the delay 4 min after our push"."""
    verb = VERBS.get(contact.channel, "contacted support")
    about = f"about the {contact.topic}" if contact.topic else f"about the {incident.kind.replace('_', ' ')}"
    said = f"passenger {verb} {about}"
    if raised:
        return f"{said}: raised {PASSENGER_REPORTED_SAFETY} at once (no open safety incident)"
    first = incident.first_message_at
    if first is None:
        return f"{said} before we had sent anything"
    gap = span(abs(contact.ts - first) / 1000)
    channel = incident.first_message_channel or "message"
    if first <= contact.ts:
        return f"{said} {gap} after our {channel}"
    return f"{said} {gap} before our {channel}"


def needs_safety_incident(contact: SupportContact, candidates: list[Candidate]) -> bool:
    """A contact about safety on an order with no open safety incident raises one: a person said it."""
    if contact.topic != "safety" or contact.order_id is None:
        return False
    return not any(
        c.order_id == contact.order_id and c.kind in SAFETY_KINDS and c.status != "resolved"
        for c in candidates
    )
