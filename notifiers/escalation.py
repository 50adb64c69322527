"""On-call paging: whom to page, when, how often to remind, and the escalation ladder.

A critical incident, or one whose rule says `page`, pages on-call through PagerDuty Events v2
(outbox messages on the critical queue):
- The first page goes to the rule's `page.to` route (`page_routes` = `name=routing_key,...`),
  else to level 1 of `escalation_levels` (`routing_key@deadline_s,...`). A route that is not in
  `page_routes` pages level 1 instead and says so on the case's timeline. `dedup_key`
  `<incident_id>:L0`.
- `page.after`: the first page of a non-critical incident waits (durably: `ESCALATIONS_DUE`)
  and is not sent if the case is acknowledged or resolved by then. Critical incidents page at once.
- Each acknowledgement deadline passing with the case still open pages the next level
  (`<incident_id>:L<n>`); past the last level, the timeline records the emergency protocol step.
- `repeat_interval`: while the case stays open, a reminder page every interval after the first
  page, to the level paged last (`<incident_id>:R<n>`, scheduled in `REMINDERS_DUE`).
- When the case is acknowledged on the board, every page triggered is acknowledged in
  PagerDuty (once), so that PagerDuty's own notification rules stop too.
- When the incident clears, every page triggered (levels and reminders) is resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from core import names
from core.clock import span
from core.settings import Settings, parse_page_routes
from notifiers.model import Case, IncidentView, OutboundMessage, TimelineEntry
from notifiers.pagerduty import PageContext, page_event, trip_link
from notifiers.plan import Plan
from notifiers.policy import Policy


@dataclass(frozen=True)
class Level:
    routing_key: str
    deadline_s: float


@dataclass(frozen=True)
class Target:
    """Whom the first page goes to; `note` goes on the timeline (an unknown route)."""

    routing_key: str | None
    name: str
    note: str = ""


def parse_levels(text: str) -> list[Level]:
    levels = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, _, seconds = item.rpartition("@")
        if not key or not seconds:
            raise ValueError(f"escalation level {item!r}: expected routing_key@deadline_s")
        levels.append(Level(key, float(seconds)))
    return levels


def queue_schedules(
    pipe: aioredis.client.Pipeline, escalation_due: int | None, reminder_due: int | None, case_id: str
) -> None:
    """Write a plan's next escalation step and next reminder (each: None = unchanged, -1 = none)."""
    _schedule(pipe, names.ESCALATIONS_DUE, escalation_due, case_id)
    _schedule(pipe, names.REMINDERS_DUE, reminder_due, case_id)


def _schedule(pipe: aioredis.client.Pipeline, zset: str, due: int | None, case_id: str) -> None:
    if due is None:
        return
    if due < 0:
        pipe.zrem(zset, case_id)
    else:
        pipe.zadd(zset, {case_id: due})


class Escalation:
    def __init__(self, settings: Settings) -> None:
        self.levels = parse_levels(settings.escalation_levels)
        self.routes = parse_page_routes(settings.page_routes)
        self.default_policy = Policy(template="generic")
        self.board_url = settings.board_public_url

    @property
    def enabled(self) -> bool:
        return bool(self.levels or self.routes)

    def on_incident(self, plan: Plan, incident: IncidentView, now: int, policy: Policy) -> None:
        """Page (at once, or after `page.after`) when a paging incident opens; stand down when it clears."""
        case = plan.case
        if case is None or not self.enabled:
            return
        if not incident.is_open:
            self._stand_down(plan, case, incident, now)
        elif case.state == "acknowledged":
            self._acknowledge_pages(plan, case, incident, now)
        elif incident.subordinate_to or case.state != "open" or case.escalation_level >= 0:
            return  # a lesser incident, somebody has it, or on-call is paged already
        elif plan.paged_before is not None:
            self.take_over(plan, case, incident, plan.paged_before, now, policy)
        elif policy.page or incident.severity == "critical":
            self._page_or_wait(plan, case, incident, now, policy)

    def take_over(
        self, plan: Plan, case: Case, incident: IncidentView, paged: Case, now: int, policy: Policy
    ) -> None:
        """The stop check-in's escalation paged on-call for this stop already (critical, with the
        passenger's answer): that page stands for this incident too, no second one. Acknowledging
        or resolving this case acknowledges or resolves it, and the ladder goes on from here."""
        case.pages = dict(paged.pages)
        case.escalation_level, case.reminders = paged.escalation_level, 0
        case.paged_at = paged.paged_at or now
        case.version += 1
        plan.case_changed = True
        plan.escalation_due = self._deadline(case.escalation_level, case.paged_at)
        if policy.repeat_interval_s:
            plan.reminder_due = case.paged_at + int(policy.repeat_interval_s * 1000)
        pages = ", ".join(f"{key} ({target})" for key, target in sorted(paged.pages.items()))
        text = f"on-call was paged for this stop by {paged.incident_id}: {pages}; no second page"
        plan.entries.append(TimelineEntry(at=now, what="escalation", text=text))

    def _deadline(self, level: int, since: int) -> int:
        """When the page of `level` (sent at `since`) escalates unless acknowledged; -1: never."""
        deadline = self.levels[level].deadline_s if level < len(self.levels) else None
        return -1 if deadline is None else since + int(deadline * 1000)

    def escalate(
        self, plan: Plan, case: Case, incident: IncidentView, now: int, why: str, policy: Policy | None = None
    ) -> None:
        """The first page when it waited (or the case cannot wait), else one level up, else the
        emergency protocol step."""
        case.version += 1
        plan.case_changed = True
        level = case.escalation_level + 1
        if level == 0 and self._page_withdrawn(case, incident, policy):
            case.page_due_at, plan.escalation_due = None, -1
            text = "the rule no longer pages (changed while the page waited): nobody paged"
            plan.entries.append(TimelineEntry(at=now, what="escalation", text=text))
        elif level == 0:
            self._first_page(plan, case, incident, now, policy or self.default_policy, why)
        elif level >= len(self.levels):
            plan.entries.append(TimelineEntry(at=now, what="escalation", text=f"{why}: emergency protocol"))
            plan.escalation_due = -1
        else:
            target = Target(self.levels[level].routing_key, f"level {level + 1}")
            self._page(plan, case, incident, level, target, now, f"{why}: escalated to {target.name}")

    def remind(self, plan: Plan, case: Case, incident: IncidentView, now: int, policy: Policy) -> None:
        """A reminder page when one is due and the case is still open; else (re)schedule or stop."""
        interval_ms = int((policy.repeat_interval_s or 0) * 1000)
        if interval_ms <= 0 or case.paged_at is None or case.state != "open" or not incident.is_open:
            plan.reminder_due = -1
            return
        number = (now - case.paged_at) // interval_ms
        if number <= case.reminders:  # not due yet, or sent already (a replayed tick)
            plan.reminder_due = case.paged_at + (case.reminders + 1) * interval_ms
            return
        level = max(case.escalation_level, 0)
        name = case.pages.get(f"{incident.incident_id}:L{level}", f"level {level + 1}")
        routing_key = self._key_of(name)
        if routing_key is None:
            plan.reminder_due = -1
            return
        waited = span(number * interval_ms / 1000)
        case.reminders, case.version = number, case.version + 1
        plan.case_changed = True
        dedup_key = f"{incident.incident_id}:R{number}"
        case.pages = {**case.pages, dedup_key: name}
        summary = f"Reminder: {incident.summary or incident.kind}, unacknowledged for {waited}"
        details = {"reminder": number, "level": level + 1}
        plan.messages.append(
            self._event(case, incident, dedup_key, routing_key, "trigger", now, summary, details)
        )
        text = f"reminder {number} to on-call ({name}): unacknowledged for {waited} since the page"
        plan.entries.append(TimelineEntry(at=now, what="escalation", text=text, data=details))
        plan.reminder_due = case.paged_at + (number + 1) * interval_ms

    def _page_or_wait(self, plan: Plan, case: Case, incident: IncidentView, now: int, policy: Policy) -> None:
        after_ms = int(policy.page_after_s * 1000)
        if incident.severity == "critical" or after_ms <= 0:
            why = (
                "critical incident" if incident.severity == "critical" else f"rule {incident.rule_id!r} pages"
            )
            self._first_page(plan, case, incident, now, policy, why)
        elif case.page_due_at is None:
            case.page_due_at = now + after_ms
            plan.case_changed = True
            plan.escalation_due = case.page_due_at
            target = policy.page_to or "on-call"
            text = f"{target} will be paged in {span(policy.page_after_s)} unless acknowledged by then"
            data = {"page_due_at": case.page_due_at}
            plan.entries.append(TimelineEntry(at=now, what="escalation", text=text, data=data))
        elif case.page_due_at <= now:
            self._first_page(plan, case, incident, now, policy, "no acknowledgement in time")

    @staticmethod
    def _page_withdrawn(case: Case, incident: IncidentView, policy: Policy | None) -> bool:
        """A delayed page (`page.after`) falls due, but the rule in force no longer asks for one (a
        rule set published while it waited). Critical incidents never wait, so this never holds
        back a page that safety asked for."""
        return (
            case.page_due_at is not None
            and policy is not None
            and not policy.page
            and incident.severity != "critical"
        )

    def _first_page(
        self, plan: Plan, case: Case, incident: IncidentView, now: int, policy: Policy, why: str
    ) -> None:
        target = self._target(policy)
        if target.note:
            plan.entries.append(TimelineEntry(at=now, what="note", text=target.note))
        if target.routing_key is None:
            plan.escalation_due = -1
            return
        case.page_due_at, case.paged_at, case.reminders = None, now, 0
        self._page(plan, case, incident, 0, target, now, f"{why}: on-call paged ({target.name})")
        if policy.repeat_interval_s:
            plan.reminder_due = now + int(policy.repeat_interval_s * 1000)

    def _target(self, policy: Policy) -> Target:
        first = self._level_key(0)
        if policy.page_to is None:
            return Target(first, "level 1", "" if first else "page not sent: no escalation_levels set")
        if policy.page_to in self.routes:
            return Target(self.routes[policy.page_to], policy.page_to)
        unknown = f"page route {policy.page_to!r} is unknown (not in page_routes)"
        if first is None:
            return Target(None, "", f"{unknown} and no escalation_levels are set: page not sent")
        return Target(first, "level 1", f"{unknown}: paging escalation level 1 instead")

    def _level_key(self, level: int) -> str | None:
        return self.levels[level].routing_key if level < len(self.levels) else None

    def _key_of(self, name: str) -> str | None:
        """The routing key of a target as the case names it: a route, or `level <n>`."""
        if name in self.routes:
            return self.routes[name]
        number = name.removeprefix("level ")
        return self._level_key(int(number) - 1) if number.isdigit() and int(number) > 0 else None

    def _page(
        self, plan: Plan, case: Case, incident: IncidentView, level: int, target: Target, now: int, text: str
    ) -> None:
        dedup_key = f"{incident.incident_id}:L{level}"
        case.escalation_level = level
        case.pages = {**case.pages, dedup_key: target.name}  # names, not keys: the case is shown and exported
        plan.case_changed = True
        details = {"level": level + 1}
        routing_key = target.routing_key or ""
        plan.messages.append(
            self._event(case, incident, dedup_key, routing_key, "trigger", now, None, details)
        )
        plan.entries.append(TimelineEntry(at=now, what="escalation", text=text, data=details))
        plan.escalation_due = self._deadline(level, now)

    def _acknowledge_pages(self, plan: Plan, case: Case, incident: IncidentView, now: int) -> None:
        """Somebody has the case: acknowledge every page triggered, once."""
        paged = self._paged(case, incident)
        if case.pages_acknowledged or not paged:
            return
        for dedup_key, name in paged.items():
            routing_key = self._key_of(name)
            if routing_key is not None:  # a route no longer configured cannot be reached
                plan.messages.append(self._event(case, incident, dedup_key, routing_key, "acknowledge", now))
        text = f"case acknowledged: {len(paged)} page(s) acknowledged in PagerDuty"
        plan.entries.append(TimelineEntry(at=now, what="escalation", text=text))
        case.pages_acknowledged = True
        plan.case_changed = True

    def _stand_down(self, plan: Plan, case: Case, incident: IncidentView, now: int) -> None:
        """Resolve every page triggered and drop the schedules; a new opening pages afresh."""
        if case.escalation_level < 0 and case.page_due_at is None and not case.pages:
            return
        for dedup_key, name in self._paged(case, incident).items():
            routing_key = self._key_of(name)
            if routing_key is None:
                text = f"page {dedup_key} not resolved: {name!r} is no longer configured"
                plan.entries.append(TimelineEntry(at=now, what="note", text=text))
            else:
                plan.messages.append(self._event(case, incident, dedup_key, routing_key, "resolve", now))
        if case.escalation_level < 0 and case.page_due_at is not None:
            text = "incident cleared before the delayed page was due: nobody paged"
            plan.entries.append(TimelineEntry(at=now, what="escalation", text=text))
        case.escalation_level, case.pages, case.reminders = -1, {}, 0
        case.page_due_at = case.paged_at = None
        case.pages_acknowledged = False
        plan.case_changed = True
        plan.escalation_due = plan.reminder_due = -1

    @staticmethod
    def _paged(case: Case, incident: IncidentView) -> dict[str, str]:
        """dedup_key -> target of every page (also of cases stored before `pages` existed)."""
        paged = dict(case.pages)
        if paged:
            return paged  # kept since `pages` exists: the keys may be another incident's (take_over)
        for level in range(case.escalation_level + 1):
            paged.setdefault(f"{incident.incident_id}:L{level}", f"level {level + 1}")
        return paged

    def _event(
        self,
        case: Case,
        incident: IncidentView,
        dedup_key: str,
        routing_key: str,
        action: str,
        now: int,
        summary: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> OutboundMessage:
        details: dict[str, Any] = {"order_id": incident.order_id, "kind": incident.kind, **(extra or {})}
        text = summary or incident.summary or incident.kind
        context = PageContext(
            timestamp_ms=incident.detected_at or now,
            component=incident.rule_id or incident.kind,
            group=incident.city or "",
            event_class=incident.kind,
            links=trip_link(self.board_url, incident.order_id),
        )
        event = page_event(action, dedup_key, text, incident.severity, "tripwatch", details, context)
        tag = dedup_key.rsplit(":", 1)[1]
        return OutboundMessage(
            message_id=f"{incident.incident_id}:page:{case.version}:{tag}:{action}",
            incident_id=incident.incident_id,
            order_id=incident.order_id,
            case_id=case.case_id,
            step=f"page-{action}",
            priority="critical",
            channels=["pagerduty"],
            recipients={"pagerduty": routing_key},
            payload=event,
            created_at=now,
        )
