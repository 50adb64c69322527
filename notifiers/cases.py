"""Cases: one per incident whose rule asks for one, with its whole timeline.

States: open -> acknowledged -> resolved -> closed. A case resolves itself when its
incident clears and opens again if the incident does. The functions here are pure; the
engine writes their results in the same Redis transaction as the conversation.
"""

from __future__ import annotations

import msgspec
import redis.asyncio as aioredis

from monitor import names
from monitor.settings import Settings
from notifiers.model import Case, IncidentView, TimelineEntry, decode_case, decode_entry, encode
from notifiers.outbox import add_timeline, timeline_key


def case_key(case_id: str) -> str:
    return names.CASE + case_id


def sla_s(settings: Settings, severity: str) -> int:
    return int(getattr(settings, f"case_sla_{severity}_s", settings.case_sla_medium_s))


def on_incident(case: Case | None, incident: IncidentView, now_ms: int, settings: Settings) -> Case:
    """The case after one incident revision (new, or with its state following the incident)."""
    if case is None:
        return Case(
            case_id=incident.incident_id,
            incident_id=incident.incident_id,
            order_id=incident.order_id,
            passenger_id=incident.passenger_id,
            kind=incident.kind,
            severity=incident.severity,
            state="resolved" if not incident.is_open else "open",
            opened_at=now_ms,
            sla_due_at=now_ms + 1000 * sla_s(settings, incident.severity),
            resolved_at=None if incident.is_open else now_ms,
        )
    case = msgspec.structs.replace(case, severity=incident.severity, version=case.version + 1)
    if incident.status == "resolved" and case.state in ("open", "acknowledged"):
        case.state, case.resolved_at = "resolved", now_ms
    elif incident.status == "acknowledged" and case.state == "open":
        case.state, case.acknowledged_at = "acknowledged", now_ms
    elif incident.status == "open" and case.state in ("resolved", "closed"):
        case.state, case.resolved_at, case.closed_at = "open", None, None
    return case


def incident_entry(incident: IncidentView, now_ms: int) -> TimelineEntry:
    text = f"incident {incident.status} (revision {incident.revision}): {incident.summary}"
    data = {"revision": incident.revision, "severity": incident.severity, "details": incident.details}
    if incident.resolution:
        data["resolution"] = incident.resolution
    return TimelineEntry(at=now_ms, what="incident", text=text, data=data)


def queue_case(pipe: aioredis.client.Pipeline, case: Case) -> None:
    pipe.set(case_key(case.case_id), encode(case))
    pipe.zadd(names.CASES_BY_ORDER + case.order_id, {case.case_id: case.opened_at})
    if case.state in ("open", "acknowledged"):
        pipe.zadd(names.CASES_OPEN, {case.case_id: case.sla_due_at})
    else:
        pipe.zrem(names.CASES_OPEN, case.case_id)


class CaseStore:
    """Reads cases, and the supervisors' actions on them (each one lands on the timeline)."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def get(self, case_id: str) -> Case | None:
        raw = await self.redis.get(case_key(case_id))
        return decode_case(raw) if raw else None

    async def timeline(self, case_id: str) -> list[TimelineEntry]:
        return [decode_entry(raw) for raw in await self.redis.lrange(timeline_key(case_id), 0, -1)]

    async def act(self, case_id: str, action: str, actor: str, now_ms: int, note: str = "") -> Case:
        """acknowledge | resolve | close | note, by a person; returns the case after it."""
        key = case_key(case_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        raise KeyError(f"no case {case_id}")
                    case = _apply_action(decode_case(raw), action, actor, now_ms)
                    pipe.multi()
                    queue_case(pipe, case)
                    text = f"{action} by {actor}" + (f": {note}" if note else "")
                    add_timeline(pipe, case_id, TimelineEntry(at=now_ms, what="action", text=text))
                    await pipe.execute()
                    return case
                except aioredis.WatchError:
                    continue

    async def record_survey(self, case_id: str, score: int, now_ms: int) -> None:
        case = await self.get(case_id)
        if case is None:
            return
        case.survey_score, case.version = score, case.version + 1
        if case.state == "resolved":
            case.state, case.closed_at = "closed", now_ms  # closed with the passenger's answer
        async with self.redis.pipeline(transaction=True) as pipe:
            queue_case(pipe, case)
            entry = TimelineEntry(at=now_ms, what="survey", text=f"satisfaction score {score}/5")
            add_timeline(pipe, case_id, entry)
            await pipe.execute()


def _apply_action(case: Case, action: str, actor: str, now_ms: int) -> Case:
    case = msgspec.structs.replace(case, version=case.version + 1)
    if action == "acknowledge" and case.state == "open":
        case.state, case.acknowledged_at, case.acknowledged_by = "acknowledged", now_ms, actor
    elif action == "resolve" and case.state in ("open", "acknowledged"):
        case.state, case.resolved_at = "resolved", now_ms
    elif action == "close" and case.state != "closed":
        case.state, case.closed_at = "closed", now_ms
    elif action not in ("acknowledge", "resolve", "close", "note"):
        raise ValueError(f"unknown case action {action!r}")
    return case
