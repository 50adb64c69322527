"""What outreach stores: the incident as it reads it, conversations, outbound messages, cases."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from core.incidents import SAFETY_KINDS

Priority = Literal["critical", "normal"]
# `unknown`: the provider never answered (timeout, reset after the request went out) and could
# not be asked: it may have been delivered, so it is never a dead letter.
MessageStatus = Literal["queued", "sending", "sent", "dead", "unknown"]
ConversationState = Literal["pending", "told", "closing", "closed", "quiet"]
CaseState = Literal["open", "acknowledged", "resolved", "closed"]
# Late is useless for these: the push goes at high priority (time-critical, not just critical).
TIME_CRITICAL_KINDS = SAFETY_KINDS | {"pickup_delay"}


class IncidentView(msgspec.Struct, kw_only=True):
    """An incident from the `incidents` topic; unknown fields are ignored (forward compatible)."""

    incident_id: str
    kind: str
    severity: str
    status: str
    order_id: str
    passenger_id: str | None = None
    rule_id: str = ""
    summary: str = ""
    details: dict[str, Any] = {}
    city: str | None = None
    revision: int = 1
    detected_at: int = 0
    resolution: str | None = None
    subordinate_to: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"

    @property
    def is_safety(self) -> bool:
        return self.severity == "critical" or self.kind in SAFETY_KINDS


class Conversation(msgspec.Struct, kw_only=True):
    """One conversation per incident: what the passenger was told, and what is due next."""

    incident_id: str
    state: ConversationState
    incident: IncidentView
    last_revision: int
    due_at: int | None = None
    seq: int = 0  # messages enqueued so far: part of each message's idempotency key
    told_facts: str = ""  # fingerprint of the facts in the last message sent
    checkin_phone: str | None = None


class Attempt(msgspec.Struct, kw_only=True):
    at: int
    channel: str
    outcome: Literal["sent", "retry", "rejected", "reconciled", "unknown"]
    detail: str = ""


class OutboundMessage(msgspec.Struct, kw_only=True):
    """One message in the durable outbox. `message_id` is its idempotency key."""

    message_id: str
    incident_id: str
    case_id: str | None
    step: str
    priority: Priority
    channels: list[str]  # the plan, in preference order; `channel_index` is the current one
    recipients: dict[str, str]  # channel -> phone / push token / URL / routing key
    title: str = ""
    body: str = ""  # the SMS text when SMS is in the plan, else the in-app text
    bodies: dict[str, str] = {}  # channel -> its own text (only SMS asks for replies)
    payload: dict[str, Any] = {}  # webhook / PagerDuty body
    order_id: str = ""
    severity: str = ""  # the incident's, when queued: the push ttl and priority, the SMS validity
    kind: str = ""
    audience: str = "passenger"  # or "driver": the driver's safety check-in, the no-show notice
    channel_index: int = 0
    attempts: int = 0  # on the current channel
    status: MessageStatus = "queued"
    created_at: int = 0
    attempt_started_at: int | None = None
    first_attempt_at: int | None = None  # on the current channel: a lookup at the provider starts here
    after_page: str | None = None  # outbox id of the page that must be accepted first (page first)
    hold_until: int | None = None  # ...but the message waits no longer than this (ms)
    receipt: str | None = None  # the provider's delivery receipt (Twilio: delivered, undelivered, failed)
    provider_id: str | None = None
    history: list[Attempt] = []

    @property
    def channel(self) -> str:
        return self.channels[self.channel_index]

    def body_for(self, channel: str) -> str:
        return self.bodies.get(channel, self.body)


class TimelineEntry(msgspec.Struct, kw_only=True):
    at: int
    what: str  # incident, message, delivery, action, reply, escalation, note
    text: str
    data: dict[str, Any] = {}


class Case(msgspec.Struct, kw_only=True):
    case_id: str
    incident_id: str
    order_id: str
    passenger_id: str | None
    kind: str
    severity: str
    state: CaseState
    opened_at: int
    sla_due_at: int
    version: int = 1
    acknowledged_at: int | None = None
    acknowledged_by: str | None = None
    resolved_at: int | None = None
    closed_at: int | None = None
    survey_score: int | None = None
    survey_requested: bool = False
    survey_requested_at: int | None = None  # ms the survey was queued (its answer window starts)
    no_contact: bool = False  # the passenger had no usable channel
    escalation_level: int = -1  # -1: nobody paged yet
    page_due_at: int | None = None  # a rule's delayed page (`page.after`) waits until then
    paged_at: int | None = None  # on-call first paged (reminders count from it)
    pages: dict[str, str] = {}  # dedup_key -> target ("level <n>" or a route name) of every page triggered
    reminders: int = 0  # reminders (`repeat_interval`) sent since paged_at
    pages_acknowledged: bool = False  # PagerDuty was told somebody has it (pages stop notifying)
    passenger_ok_at: int | None = None  # the passenger said "I'm OK" (noted; lowers nothing)
    resolve_due_at: int | None = None  # a final-event incident resolves itself then (lifecycle)


def encode(value: msgspec.Struct) -> bytes:
    return msgspec.json.encode(value)


def decode_incident(raw: bytes) -> IncidentView:
    return msgspec.json.decode(raw, type=IncidentView)


def decode_message(raw: bytes) -> OutboundMessage:
    return msgspec.json.decode(raw, type=OutboundMessage)


def decode_conversation(raw: bytes) -> Conversation:
    return msgspec.json.decode(raw, type=Conversation)


def decode_case(raw: bytes) -> Case:
    return msgspec.json.decode(raw, type=Case)


def decode_entry(raw: bytes) -> TimelineEntry:
    return msgspec.json.decode(raw, type=TimelineEntry)
