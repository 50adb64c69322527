"""Conversation rules, free of Redis: one conversation per incident, and when it speaks.

- a first message only after `group_wait` (none for critical: safety does not wait), so a
  problem that clears itself within it sends nothing;
- an update only when the facts the passenger heard changed;
- a closing message when a problem the passenger was told about clears, itself held back
  by `group_wait`, so an incident that flaps open and shut says nothing more;
- nothing at all while muted (a subordinate or silenced incident).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from notifiers.facts import fingerprint
from notifiers.model import Conversation, IncidentView


@dataclass
class Decision:
    conversation: Conversation
    steps: list[str] = field(default_factory=list)  # "open", "update", "close": to send now
    changed: bool = True


def on_incident(
    current: Conversation | None,
    incident: IncidentView,
    now_ms: int,
    wait_ms: int,
    muted: bool = False,
) -> Decision:
    """Fold one incident revision into the conversation."""
    if current is not None and incident.revision <= current.last_revision:
        return Decision(current, changed=False)  # a redelivery or an older revision
    conv = _updated(current, incident)
    if incident.is_open:
        decision = _on_open(conv, incident, now_ms, wait_ms, muted)
    else:
        decision = _on_resolved(conv, now_ms, wait_ms, muted)
    if conv.due_at is not None and conv.due_at <= now_ms:
        decision.steps += on_due(conv, now_ms).steps
    return decision


def on_due(conv: Conversation, now_ms: int) -> Decision:
    """The conversation's wait is over: say what is due."""
    if conv.due_at is None or conv.due_at > now_ms:
        return Decision(conv, changed=False)
    conv.due_at = None
    if conv.state == "pending":
        conv.state, conv.told_facts = "told", fingerprint(conv.incident)
        return Decision(conv, ["open"])
    if conv.state == "closing":
        conv.state = "closed"
        return Decision(conv, ["close"])
    return Decision(conv)


def _updated(current: Conversation | None, incident: IncidentView) -> Conversation:
    if current is None:
        return Conversation(
            incident_id=incident.incident_id,
            state="quiet",
            incident=incident,
            last_revision=incident.revision,
        )
    return msgspec.structs.replace(current, incident=incident, last_revision=incident.revision)


def _on_open(conv: Conversation, incident: IncidentView, now_ms: int, wait_ms: int, muted: bool) -> Decision:
    if muted:
        if conv.state == "pending":
            conv.state, conv.due_at = "quiet", None
        return Decision(conv)
    if conv.state in ("quiet", "closed"):
        conv.state = "pending"
        conv.due_at = now_ms + (0 if incident.is_safety else wait_ms)
        return Decision(conv)
    if conv.state == "closing":
        conv.state, conv.due_at = "told", None  # it flapped back: the close is not sent
    if conv.state == "told":
        news = fingerprint(incident)
        if news != conv.told_facts:
            conv.told_facts = news
            return Decision(conv, ["update"])
    return Decision(conv)


def _on_resolved(conv: Conversation, now_ms: int, wait_ms: int, muted: bool) -> Decision:
    if conv.state == "pending":
        conv.state, conv.due_at = "quiet", None  # cleared within group_wait: nothing is sent
    elif conv.state == "told":
        conv.state = "closed" if muted else "closing"
        conv.due_at = None if muted else now_ms + wait_ms
    return Decision(conv)
