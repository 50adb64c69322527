"""Incidents: the record people and other systems rely on, and its state transitions.

A detector asks for an `IncidentChange` (open or resolve); `transition` turns the
stored incident and that request into the next incident, or `None` when the request
changes nothing. That `None` is what makes effects idempotent: a redelivered event or
a replayed partition asks for a change that is already there.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from core.kinds import KINDS

# The incident catalogue of ../shared/PRODUCT.md, from the rule pack (core/kinds.py); rule
# authors may add kinds of their own.
BUILTIN_KINDS: tuple[str, ...] = tuple(KINDS)
# Kinds about a person's safety (tagged `safety` in the pack): paged at once, never hidden by a
# silence, first on the board.
SAFETY_KINDS = frozenset(kind.name for kind in KINDS.values() if kind.safety)
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
Severity = Literal["critical", "high", "medium", "low"]
Status = Literal["open", "acknowledged", "resolved"]


class IncidentChange(msgspec.Struct, kw_only=True, frozen=True):
    """What a detector decided about one (order, kind)."""

    action: Literal["open", "resolve", "subordinate"]
    kind: str
    order_id: str
    passenger_id: str | None = None
    city: str | None = None
    rule_id: str = ""
    rule_version: str = ""
    severity: Severity = "medium"
    trigger_ts: int = 0
    summary: str = ""
    details: dict[str, Any] = {}
    reason: str = ""
    subordinate_to: str | None = None  # the critical incident of the same trip this one is under


class Incident(msgspec.Struct, kw_only=True):
    """An incident as stored in Redis and published on the `incidents` topic.

    The contract's fields come first; `revision` and the timestamps after them are a
    compatible extension: consumers of the topic may de-duplicate on
    (`incident_id`, `revision`), since delivery is at least once.
    """

    incident_id: str
    kind: str
    severity: Severity
    status: Status
    order_id: str
    passenger_id: str | None
    rule_id: str
    rule_version: str
    trigger_ts: int
    detected_at: int
    summary: str
    details: dict[str, Any]
    city: str | None = None
    revision: int = 1
    opened_at: int = 0
    updated_at: int = 0
    resolved_at: int | None = None
    resolution: str | None = None
    subordinate_to: str | None = None  # shown under this (critical) incident; pages nobody
    severity_since: int = 0  # when the current severity began (0 = at detection); deadlines count from it


def incident_id_for(order_id: str, kind: str) -> str:
    """One incident per order and kind: the id is derived, never random."""
    return f"{order_id}:{kind}"


def transition(current: Incident | None, change: IncidentChange, now_ms: int) -> Incident | None:
    if change.action == "open":
        return _open(current, change, now_ms)
    if change.action == "subordinate":
        return _subordinate(current, change, now_ms)
    return _resolve(current, change, now_ms)


def _open(current: Incident | None, change: IncidentChange, now_ms: int) -> Incident | None:
    if current is None or current.status == "resolved":
        return Incident(
            incident_id=incident_id_for(change.order_id, change.kind),
            kind=change.kind,
            severity=change.severity,
            status="open",
            order_id=change.order_id,
            passenger_id=change.passenger_id,
            rule_id=change.rule_id,
            rule_version=change.rule_version,
            trigger_ts=change.trigger_ts,
            detected_at=now_ms,
            summary=change.summary,
            details=change.details,
            city=change.city,
            subordinate_to=change.subordinate_to,
            revision=current.revision + 1 if current else 1,
            opened_at=current.opened_at if current else now_ms,
            updated_at=now_ms,
            severity_since=now_ms,
        )
    if not _worse_or_new(current, change):
        return None
    updated = msgspec.structs.replace(
        current,
        summary=change.summary,
        details=change.details,
        subordinate_to=change.subordinate_to,
        revision=current.revision + 1,
        updated_at=now_ms,
    )
    if SEVERITY_RANK[change.severity] > SEVERITY_RANK[current.severity]:
        _escalate(updated, change.severity, now_ms)
    return updated


def _escalate(incident: Incident, severity: Severity, now_ms: int) -> None:
    """A worse severity starts its own acknowledgement deadline; turning critical needs a new one."""
    incident.severity = severity
    incident.severity_since = now_ms
    if severity == "critical" and incident.status == "acknowledged":
        incident.status = "open"


def _worse_or_new(current: Incident, change: IncidentChange) -> bool:
    """A later trigger updates an open incident only when it says something new."""
    return (
        SEVERITY_RANK[change.severity] > SEVERITY_RANK[current.severity]
        or change.summary != current.summary
        or change.details != current.details
        or change.subordinate_to != current.subordinate_to
    )


def _subordinate(current: Incident | None, change: IncidentChange, now_ms: int) -> Incident | None:
    """Put an open incident under a critical one of the same trip (or take it out again)."""
    if current is None or current.status == "resolved" or current.subordinate_to == change.subordinate_to:
        return None
    return msgspec.structs.replace(
        current, subordinate_to=change.subordinate_to, revision=current.revision + 1, updated_at=now_ms
    )


def _resolve(current: Incident | None, change: IncidentChange, now_ms: int) -> Incident | None:
    if current is None or current.status == "resolved":
        return None
    return msgspec.structs.replace(
        current,
        status="resolved",
        revision=current.revision + 1,
        updated_at=now_ms,
        resolved_at=now_ms,
        resolution=change.reason,
    )


def encode_incident(incident: Incident) -> bytes:
    return msgspec.json.encode(incident)


def decode_incident(raw: bytes) -> Incident:
    return msgspec.json.decode(raw, type=Incident)
