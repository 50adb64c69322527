"""Supervisors' actions on incidents: what each does to the record, as plain functions.

An action changes the incident's status (acknowledge, resolve, reopen) or only the
board's annotations (take, assign, note). Either way it bumps the incident's `revision`, so that
every board, which keeps the highest revision it has seen per incident, takes it in.
`None` means the action changes nothing (acknowledging an acknowledged incident).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import msgspec

from core.incidents import Incident

ActionName = Literal["acknowledge", "take", "assign", "note", "resolve", "reopen"]


@dataclass(frozen=True)
class BoardAction:
    """How the board offers an action: its button, when, and what it asks for."""

    label: str
    short: str  # the label in a board row
    statuses: tuple[str, ...]  # the incident statuses it is offered on
    asks: str = ""  # the question for its text (a note, a reason, a user); empty: none
    others_only: bool = False  # offered only on an incident someone else (or no one) owns
    names_user: bool = False  # its text is a user name (the page lists whom)


# Every supervisor action, declared once: the API accepts these names, the pages draw their
# buttons from `offered` (server) or this table (the board's script reads it as JSON, see
# `as_json`), in this order. An action's effect on the incident is `supervise` below.
BOARD_ACTIONS: dict[ActionName, BoardAction] = {
    "reopen": BoardAction("Reopen", "Reopen", ("resolved",)),
    "acknowledge": BoardAction("Acknowledge", "Ack", ("open",)),
    "take": BoardAction("Take", "Take", ("open", "acknowledged"), others_only=True),
    "assign": BoardAction("Assign", "Assign", ("open", "acknowledged"), asks="Assign to", names_user=True),
    "note": BoardAction("Note", "Note", ("open", "acknowledged", "resolved"), asks="Note"),
    "resolve": BoardAction("Resolve", "Resolve", ("open", "acknowledged"), asks="Resolve: the reason"),
}


def offered(status: str, owner: str | None, user: str) -> list[ActionName]:
    """The actions `user` is offered on an incident in `status` owned by `owner`."""
    return [
        name
        for name, action in BOARD_ACTIONS.items()
        if status in action.statuses and not (action.others_only and owner == user)
    ]


def as_json() -> dict[str, dict[str, object]]:
    """The table for the pages' scripts (which apply `offered`'s rule to each row)."""
    return {name: asdict(action) for name, action in BOARD_ACTIONS.items()}


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
