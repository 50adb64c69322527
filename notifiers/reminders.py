"""On-call reminders (a rule's `repeat_interval`): due ones from `REMINDERS_DUE`, one transaction each.

The schedule lives in Redis, so a restart of outreach keeps it. A reminder's number is counted
from the first page's time and kept on the case in the same transaction as its outbox message
(whose id is fixed by the case's version), so a replayed tick never sends a reminder twice.
"""

from __future__ import annotations

from core import names
from core.replies import as_text
from notifiers.engine import Outreach, step_case
from notifiers.model import Case, IncidentView
from notifiers.plan import Plan


async def remind_due(outreach: Outreach, limit: int = 100) -> int:
    """Remind on-call of every case whose reminder is due; returns how many were due."""
    now = outreach.clock()
    due = await outreach.redis.zrangebyscore(names.REMINDERS_DUE, "-inf", now, start=0, num=limit)
    for raw_id in due:
        await remind_case(outreach, as_text(raw_id), now)
    return len(due)


async def remind_case(outreach: Outreach, case_id: str, now: int) -> None:
    """One reminder for `case_id` if it is still open and one is due; else reschedule or stop."""

    def step(plan: Plan, case: Case, incident: IncidentView) -> None:
        outreach.escalation.remind(plan, case, incident, now, outreach.policy(incident))

    await step_case(outreach, case_id, step, reminder_due=-1)  # -1: none, unless `step` sets one
