"""Safety escalation: a critical incident (or one whose rule says `page`) pages on-call at once
(PagerDuty Events v2), then the next level each time a level's acknowledgement deadline passes
with nobody acknowledging.

Levels come from `escalation_levels` = `routing_key@deadline_s,...`. The pages are outbox
messages (critical queue); their `dedup_key` is `<incident_id>:L<level>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.settings import Settings
from notifiers.model import Case, IncidentView, OutboundMessage, TimelineEntry
from notifiers.pagerduty import page_event

if TYPE_CHECKING:
    from notifiers.engine import Plan


@dataclass(frozen=True)
class Level:
    routing_key: str
    deadline_s: float


def parse_levels(text: str) -> list[Level]:
    levels = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, _, seconds = item.rpartition("@")
        if not key or not seconds:
            raise ValueError(f"escalation level {item!r}: expected routing_key@deadline_s")
        levels.append(Level(key, float(seconds)))
    return levels


class Escalation:
    def __init__(self, settings: Settings) -> None:
        self.levels = parse_levels(settings.escalation_levels)

    def on_incident(self, plan: Plan, incident: IncidentView, now: int, page: bool = False) -> None:
        """Page level 1 when a critical (or `page`) incident opens; resolve every page when it clears."""
        case = plan.case
        if not self.levels or case is None or incident.subordinate_to:
            return
        if not (page or incident.severity == "critical"):
            return
        if incident.is_open and case.escalation_level < 0:
            self._page(plan, case, incident, 0, now, "critical incident: on-call paged")
        elif not incident.is_open and case.escalation_level >= 0:
            for level in range(case.escalation_level + 1):
                plan.messages.append(self._event(case, incident, level, "resolve", now))
            plan.escalation_due = -1

    def escalate(self, plan: Plan, case: Case, incident: IncidentView, now: int, why: str) -> None:
        """One level up, or the emergency protocol step when the last level was reached."""
        level = case.escalation_level + 1
        if level >= len(self.levels):
            plan.entries.append(TimelineEntry(at=now, what="escalation", text=f"{why}: emergency protocol"))
            plan.escalation_due = -1
            return
        self._page(plan, case, incident, level, now, f"{why}: escalated to level {level + 1}")

    def _page(self, plan: Plan, case: Case, incident: IncidentView, level: int, now: int, text: str) -> None:
        case.escalation_level = level
        plan.case_changed = True
        plan.messages.append(self._event(case, incident, level, "trigger", now))
        plan.entries.append(TimelineEntry(at=now, what="escalation", text=text, data={"level": level + 1}))
        plan.escalation_due = now + int(self.levels[level].deadline_s * 1000)

    def _event(
        self, case: Case, incident: IncidentView, level: int, action: str, now: int
    ) -> OutboundMessage:
        details: dict[str, Any] = {"order_id": incident.order_id, "kind": incident.kind, "level": level + 1}
        event = page_event(
            action, f"{incident.incident_id}:L{level}", incident.summary or incident.kind,
            incident.severity, "tripwatch", details,
        )  # fmt: skip
        return OutboundMessage(
            message_id=f"{incident.incident_id}:page:{case.version}:{level}:{action}",
            incident_id=incident.incident_id,
            order_id=incident.order_id,
            case_id=case.case_id,
            step=f"page-{action}",
            priority="critical",
            channels=["pagerduty"],
            recipients={"pagerduty": self.levels[level].routing_key},
            payload=event,
            created_at=now,
        )
