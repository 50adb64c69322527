"""Supervisors' actions on incidents: what each does to the record, as plain functions.

An action changes the incident's status (acknowledge, resolve, reopen) or only the
board's annotations (take, assign, note). Either way it bumps the incident's `revision`, so that
every board, which keeps the highest revision it has seen per incident, takes it in.
`None` means the action changes nothing (acknowledging an acknowledged incident).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from monitor.incidents import Incident

ActionName = Literal["acknowledge", "take", "assign", "note", "resolve", "reopen"]
ACTIONS: tuple[ActionName, ...] = ("acknowledge", "take", "assign", "note", "resolve", "reopen")


class ActionRefused(ValueError):
    """The action does not apply to the incident as it is; the message says why."""


class SupervisorAction(msgspec.Struct, kw_only=True, frozen=True):
    action: ActionName
    incident_id: str
    actor: str
    role: str
    text: str = ""  # the note, the reason of a resolution, or the user an incident is assigned to


class AuditEntry(msgspec.Struct, kw_only=True, frozen=True):
    """Who did what, when: kept in Redis, shown on the trip view."""

    at: int
    actor: str
    role: str
    action: str
    incident_id: str | None = None
    order_id: str | None = None
    text: str = ""


def supervise(current: Incident, action: SupervisorAction, now_ms: int) -> Incident | None:
    """The incident after `action`, or None when the action would change nothing."""
    status = _next_status(current, action)
    if status == current.status and action.action == "acknowledge":
        return None
    updated = msgspec.structs.replace(
        current, status=status, revision=current.revision + 1, updated_at=now_ms
    )
    if action.action == "resolve":
        updated.resolved_at = now_ms
        updated.resolution = f"{action.actor}: {action.text}"
    elif action.action == "reopen":
        updated.resolved_at = None
        updated.resolution = None
        updated.detected_at = now_ms  # the acknowledgement deadline starts again
        updated.severity_since = now_ms
    return updated


def _next_status(current: Incident, action: SupervisorAction) -> str:
    match action.action:
        case "acknowledge":
            if current.status == "resolved":
                raise ActionRefused("a resolved incident cannot be acknowledged; reopen it first")
            return "acknowledged"
        case "resolve":
            if current.status == "resolved":
                raise ActionRefused("the incident is resolved already")
            if not action.text.strip():
                raise ActionRefused("a resolution needs a reason")
            return "resolved"
        case "reopen":
            if current.status != "resolved":
                raise ActionRefused("only a resolved incident can be reopened")
            return "open"
        case "note" | "assign" if not action.text.strip():
            raise ActionRefused("a note needs text" if action.action == "note" else "assign to whom?")
        case _:  # take, note, assign
            return current.status


def audit_entry(action: SupervisorAction, order_id: str, now_ms: int) -> AuditEntry:
    return AuditEntry(
        at=now_ms,
        actor=action.actor,
        role=action.role,
        action=action.action,
        incident_id=action.incident_id,
        order_id=order_id,
        text=action.text,
    )
