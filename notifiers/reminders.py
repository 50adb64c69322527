"""On-call reminders (a rule's `repeat_interval`): due ones from `REMINDERS_DUE`, one transaction each.

The schedule lives in Redis, so a restart of outreach keeps it. A reminder's number is counted
from the first page's time and kept on the case in the same transaction as its outbox message
(whose id is fixed by the case's version), so a replayed tick never sends a reminder twice.
"""

from __future__ import annotations

from redis.exceptions import WatchError

from monitor import names
from notifiers import cases
from notifiers.engine import Outreach, Plan, conversation_key, queue_case_step
from notifiers.model import decode_case, decode_conversation


async def remind_due(outreach: Outreach, limit: int = 100) -> int:
    """Remind on-call of every case whose reminder is due; returns how many were due."""
    now = outreach.clock()
    due = await outreach.redis.zrangebyscore(names.REMINDERS_DUE, "-inf", now, start=0, num=limit)
    for raw_id in due:
        await remind_case(outreach, raw_id.decode(), now)
    return len(due)


async def remind_case(outreach: Outreach, case_id: str, now: int) -> None:
    """One reminder for `case_id` if it is still open and one is due; else reschedule or stop."""
    key, conv_key = cases.case_key(case_id), conversation_key(case_id)
    async with outreach.redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(key, conv_key)
                raw_case, raw_conv = await pipe.mget(key, conv_key)
                plan = Plan(case=decode_case(raw_case) if raw_case else None, reminder_due=-1)
                if plan.case is not None and raw_conv is not None:
                    incident = decode_conversation(raw_conv).incident
                    outreach.escalation.remind(plan, plan.case, incident, now, outreach.policy(incident))
                pipe.multi()
                queue_case_step(pipe, plan, case_id, outreach.settings.helpdesk_webhook_url)
                await pipe.execute()
                return
            except WatchError:
                continue
