"""Cases: one per incident whose rule asks for one, with its whole timeline.

States: open -> acknowledged -> resolved -> closed. A case resolves itself when its
incident clears and opens again if the incident does. A resolved case closes itself once
nothing needs it: `case_autoclose_s` after resolution when no survey was asked, or
`case_survey_window_s` after the survey when it went unanswered.

The functions that decide are pure. The engine writes their results in its own
transaction; `CaseStore` writes the others' (supervisors' actions, survey answers, the
auto-close) with one optimistic read-modify-write. Every write of a changed case queues its
helpdesk export (notifiers/helpdesk.py) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec
import redis.asyncio as aioredis

from core import names
from core.clock import span
from core.settings import Settings
from notifiers.model import Case, IncidentView, TimelineEntry, decode_case, decode_entry, encode
from notifiers.outbox import add_timeline, queue_export, timeline_key

ACTIONS = ("acknowledge", "resolve", "close", "note")
SCORES = range(1, 6)
CLOSE_SCHEDULES = (names.CASES_RESOLVED, names.CASES_SURVEY_WAIT)


@dataclass
class Change:
    """A case after a change, and what the change adds to its timeline."""

    case: Case
    entries: list[TimelineEntry] = field(default_factory=list)


ChangeFn = Callable[[Case], Change | None]  # None: nothing to write


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
    before = case.severity
    case = msgspec.structs.replace(case, severity=incident.severity, version=case.version + 1)
    if incident.severity != before:  # the SLA follows the incident's severity, from the opening
        case.sla_due_at = case.opened_at + 1000 * sla_s(settings, incident.severity)
    if incident.status == "resolved" and case.state in ("open", "acknowledged"):
        case.state, case.resolved_at = "resolved", now_ms
    elif incident.status == "acknowledged" and case.state == "open":
        case.state, case.acknowledged_at = "acknowledged", now_ms
    elif incident.status == "open" and case.state in ("resolved", "closed"):
        case.state, case.resolved_at, case.closed_at = "open", None, None
    return case


def follow_lifecycle(case: Case, incident: IncidentView, now_ms: int, resolve_after_s: float | None) -> None:
    """A final-event incident (nothing will clear it) resolves itself `resolve_after_s` after it
    opened; the timer is set when it opens or re-opens, and dropped when it resolves."""
    if case.state not in ("open", "acknowledged") or not incident.is_open:
        case.resolve_due_at = None
    elif resolve_after_s and case.resolve_due_at is None:
        case.resolve_due_at = now_ms + int(resolve_after_s * 1000)


def incident_entry(incident: IncidentView, now_ms: int) -> TimelineEntry:
    text = f"incident {incident.status} (revision {incident.revision}): {incident.summary}"
    data = {"revision": incident.revision, "severity": incident.severity, "details": incident.details}
    if incident.resolution:
        data["resolution"] = incident.resolution
    return TimelineEntry(at=now_ms, what="incident", text=text, data=data)


def request_survey(case: Case, now_ms: int) -> None:
    """The survey was queued for the passenger: its answer window starts now (a new version)."""
    case.survey_requested, case.survey_requested_at = True, now_ms
    case.version += 1


def mark_no_contact(case: Case) -> None:
    """The passenger had no usable channel (a new version, once)."""
    if not case.no_contact:
        case.no_contact = True
        case.version += 1


def queue_case(pipe: aioredis.client.Pipeline, case: Case) -> None:
    """Write the case and keep its indexes (open by SLA, auto-close schedule) in step with it."""
    pipe.set(case_key(case.case_id), encode(case))
    pipe.zadd(names.CASES_BY_ORDER + case.order_id, {case.case_id: case.opened_at})
    if case.state in ("open", "acknowledged"):
        pipe.zadd(names.CASES_OPEN, {case.case_id: case.sla_due_at})
    else:
        pipe.zrem(names.CASES_OPEN, case.case_id)
    schedule_close(pipe, case.case_id, case)
    if case.resolve_due_at is not None and case.state in ("open", "acknowledged"):
        pipe.zadd(names.CASES_LIFECYCLE, {case.case_id: case.resolve_due_at})
    else:
        pipe.zrem(names.CASES_LIFECYCLE, case.case_id)


def schedule_close(pipe: aioredis.client.Pipeline, case_id: str, case: Case | None) -> None:
    """A resolved case waits in one auto-close schedule, scored by when its wait started."""
    schedule, since = close_schedule(case) if case is not None else (None, 0)
    for zset in CLOSE_SCHEDULES:
        if zset == schedule:
            pipe.zadd(zset, {case_id: since})
        else:
            pipe.zrem(zset, case_id)


def close_schedule(case: Case) -> tuple[str | None, int]:
    """(the schedule the case waits in, ms its wait started); (None, 0) unless resolved."""
    if case.state != "resolved":
        return None, 0
    resolved_at = case.resolved_at or case.opened_at
    if case.survey_requested and case.survey_score is None:
        return names.CASES_SURVEY_WAIT, case.survey_requested_at or resolved_at
    return names.CASES_RESOLVED, resolved_at


def auto_close(case: Case, now_ms: int, settings: Settings) -> Change | None:
    """The case closed by itself, when it is resolved and its wait is over; else None."""
    schedule, since = close_schedule(case)
    if schedule is None:
        return None  # re-opened, or closed already
    wait_s, why = close_wait(schedule, settings)
    if since + 1000 * wait_s > now_ms:
        return None
    case = msgspec.structs.replace(case, state="closed", closed_at=now_ms, version=case.version + 1)
    entry = TimelineEntry(at=now_ms, what="close", text=f"closed: {why}", data={"by": "tripwatch"})
    return Change(case, [entry])


def close_wait(schedule: str, settings: Settings) -> tuple[int, str]:
    """(seconds a case waits in `schedule`, why it closes after them)."""
    if schedule == names.CASES_SURVEY_WAIT:
        wait_s = settings.case_survey_window_s
        return wait_s, f"no survey answer within {span(wait_s)}"
    wait_s = settings.case_autoclose_s
    return wait_s, f"resolved {span(wait_s)} ago, no survey asked"


def apply_action(case: Case, action: str, actor: str, now_ms: int, note: str = "") -> Change | None:
    """A person's action; None when it changes nothing (acknowledging twice, closing a closed case)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown case action {action!r}")
    case = msgspec.structs.replace(case, version=case.version + 1)
    if action == "acknowledge" and case.state == "open":
        case.state, case.acknowledged_at, case.acknowledged_by = "acknowledged", now_ms, actor
    elif action == "resolve" and case.state in ("open", "acknowledged"):
        case.state, case.resolved_at = "resolved", now_ms
    elif action == "close" and case.state != "closed":
        case.state, case.closed_at = "closed", now_ms
    elif action != "note":
        return None
    text = f"{action} by {actor}" + (f": {note}" if note else "")
    return Change(case, [TimelineEntry(at=now_ms, what="action", text=text, data={"actor": actor})])


def passenger_ok(case: Case, said: str, now_ms: int) -> Change:
    """The passenger says they are OK: noted on the case (and exported); it lowers nothing, since
    only a person who acknowledges can stand the escalation down."""
    case = msgspec.structs.replace(case, version=case.version + 1)
    case.passenger_ok_at = case.passenger_ok_at or now_ms
    text = f"passenger says they are OK ({said}); escalation goes on until a person acknowledges"
    return Change(case, [TimelineEntry(at=now_ms, what="reply", text=text)])


def survey_answer(case: Case, score: int, now_ms: int) -> Change:
    """The passenger's score: the first one is kept (and closes a resolved case); a later one is noted."""
    case = msgspec.structs.replace(case, version=case.version + 1)
    if case.survey_score is not None:
        text = f"another survey answer {score}/5 not kept: the first answer ({case.survey_score}/5) stands"
        return Change(case, [TimelineEntry(at=now_ms, what="survey", text=text, data={"score": score})])
    case.survey_score = score
    entries = [TimelineEntry(at=now_ms, what="survey", text=f"satisfaction score {score}/5")]
    if case.state == "resolved":
        case.state, case.closed_at = "closed", now_ms
        entries.append(
            TimelineEntry(at=now_ms, what="close", text="closed: the passenger answered the survey")
        )
    return Change(case, entries)


class CaseStore:
    """Reads cases; writes the changes that do not come from an incident (actions, surveys,
    auto-close). Without `settings` it only reads: its changes would not reach the helpdesk."""

    def __init__(self, redis: aioredis.Redis, settings: Settings | None = None) -> None:
        self.redis = redis
        self.settings = settings

    async def get(self, case_id: str) -> Case | None:
        raw = await self.redis.get(case_key(case_id))
        return decode_case(raw) if raw else None

    async def timeline(self, case_id: str) -> list[TimelineEntry]:
        return [decode_entry(raw) for raw in await self.redis.lrange(timeline_key(case_id), 0, -1)]

    async def act(self, case_id: str, action: str, actor: str, now_ms: int, note: str = "") -> Case:
        """acknowledge | resolve | close | note, by a person; returns the case after it."""
        if action not in ACTIONS:
            raise ValueError(f"unknown case action {action!r}")
        case, _ = await self._change(case_id, lambda case: apply_action(case, action, actor, now_ms, note))
        if case is None:
            raise KeyError(f"no case {case_id}")
        return case

    async def record_survey(self, case_id: str, score: int, now_ms: int) -> Case | None:
        """The passenger's satisfaction score (1-5); None when there is no such case."""
        if score not in SCORES:
            raise ValueError(f"survey score {score} is not 1-5")
        case, _ = await self._change(case_id, lambda case: survey_answer(case, score, now_ms))
        return case

    async def note_passenger_ok(self, case_id: str, said: str, now_ms: int) -> Case | None:
        """Record the passenger's "I'm OK" on the case; None when there is no such case."""
        case, _ = await self._change(case_id, lambda case: passenger_ok(case, said, now_ms))
        return case

    async def close_due(self, now_ms: int, limit: int = 100) -> int:
        """Close the resolved cases whose wait is over; returns how many it closed."""
        settings = self._settings()
        closed = 0
        for case_id in await self._due(now_ms, settings, limit):
            _, changed = await self._change(
                case_id, lambda case: auto_close(case, now_ms, settings), tidy=True
            )
            closed += changed
        return closed

    async def _due(self, now_ms: int, settings: Settings, limit: int) -> list[str]:
        due: list[str] = []
        for zset in CLOSE_SCHEDULES:
            started_by = now_ms - 1000 * close_wait(zset, settings)[0]
            raw = await self.redis.zrangebyscore(zset, "-inf", started_by, start=0, num=limit)
            due += [case_id.decode() for case_id in raw]
        return list(dict.fromkeys(due))

    async def _change(self, case_id: str, change: ChangeFn, tidy: bool = False) -> tuple[Case | None, bool]:
        """Optimistic read-modify-write of one case: (the case after it, whether it changed).

        With `tidy`, a case left unchanged has its auto-close schedule rewritten from what it
        is now (a re-opened or vanished case leaves the schedule), in the same transaction."""
        key = case_key(case_id)

        async def attempt(pipe: aioredis.client.Pipeline) -> tuple[Case | None, bool]:
            raw = await pipe.get(key)
            case = decode_case(raw) if raw else None
            result = change(case) if case is not None else None
            if result is None and not tidy:
                await pipe.unwatch()
                return case, False
            pipe.multi()
            if result is None:
                schedule_close(pipe, case_id, case)
            else:
                self._queue(pipe, result)
            return (case, False) if result is None else (result.case, True)

        outcome: tuple[Case | None, bool] = await self.redis.transaction(
            attempt, key, value_from_callable=True
        )
        return outcome

    def _queue(self, pipe: aioredis.client.Pipeline, change: Change) -> None:
        queue_case(pipe, change.case)
        for entry in change.entries:
            add_timeline(pipe, change.case.case_id, entry)
        url = self.settings.helpdesk_webhook_url if self.settings else ""
        queue_export(pipe, change.case, change.entries, url)

    def _settings(self) -> Settings:
        if self.settings is None:
            raise RuntimeError("CaseStore(redis, settings) is needed to close cases")
        return self.settings
