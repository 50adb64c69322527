"""Outreach's decisions made durable: conversation, case, budget and outbox change together.

Every incident revision (and every conversation whose wait is over) is handled in one
Redis transaction (WATCH/MULTI): the conversation's new state, the case and its timeline,
the budget spent and the messages queued are written all at once or not at all. A
redelivered revision finds `last_revision` already there and changes nothing, so the
consumer may commit its offsets after the fact (at least once, idempotent effects).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec
import redis.asyncio as aioredis

from core import checkin, names
from core.models import Passenger
from core.settings import Settings
from notifiers import budget, cases, conversation, drivers, escalation, keywords, stop_escalation
from notifiers.compose import compose
from notifiers.conversation import Decision
from notifiers.model import (
    Case,
    Conversation,
    IncidentView,
    OutboundMessage,
    TimelineEntry,
    decode_case,
    decode_conversation,
    encode,
)
from notifiers.outbox import add_timeline, queue_export, queue_message
from notifiers.plan import Plan
from notifiers.policy import Policy, PolicyFn, SilenceCheck, default_policy_for, never_silenced, silenced
from notifiers.registry import NOTIFIERS, configured_channels
from notifiers.render import Templates
from notifiers.trip_facts import read_trip_facts

log = logging.getLogger(__name__)


def conversation_key(incident_id: str) -> str:
    return names.CONVERSATION + incident_id


class Outreach:
    def __init__(
        self,
        settings: Settings,
        redis: aioredis.Redis,
        templates: Templates,
        clock: Callable[[], int],
        policy: PolicyFn | None = None,
        is_silenced: SilenceCheck = never_silenced,
        send_escalation: stop_escalation.SendEscalation | None = None,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.templates = templates
        self.clock = clock
        self.policy = policy or default_policy_for(templates)
        self.is_silenced = is_silenced
        self.ready_channels = configured_channels(settings)
        self.wait_ms = int(settings.outreach_group_wait_s * 1000)
        self.escalation = escalation.Escalation(settings)
        self.send_escalation = send_escalation  # the stop check-in's requests to the worker

    async def on_incident(self, incident: IncidentView) -> None:
        now = self.clock()
        muted = await self._muted(incident, now)

        group_wait_s = self.policy(incident).group_wait_s
        wait_ms = self.wait_ms if group_wait_s is None else int(group_wait_s * 1000)

        def decide(conv: Conversation | None) -> Decision:
            return conversation.on_incident(conv, incident, now, wait_ms, muted)

        await self._transact(incident.incident_id, incident, decide, now, speak_to_driver=not muted)

    async def tick(self, limit: int = 100) -> int:
        """Let every conversation whose wait is over speak; returns how many were due."""
        now = self.clock()
        due = await self.redis.zrangebyscore(names.CONVERSATIONS_DUE, "-inf", now, start=0, num=limit)
        for raw_id in due:
            incident_id = raw_id.decode()
            await self._transact(incident_id, None, lambda conv: conversation.on_due(conv, now), now)
        return len(due)

    async def _muted(self, incident: IncidentView, now: int) -> bool:
        if incident.subordinate_to or not self.policy(incident).notify_passenger:
            return True
        return await silenced(self.is_silenced, incident, now)

    async def _transact(
        self,
        incident_id: str,
        incident: IncidentView | None,
        decide: Callable[[Conversation | None], Decision],
        now: int,
        speak_to_driver: bool = False,
    ) -> None:
        conv_key = conversation_key(incident_id)
        case_key = cases.case_key(incident_id)

        async def attempt(pipe: aioredis.client.Pipeline) -> None:
            raw = await pipe.get(conv_key)
            current = decode_conversation(raw) if raw else None
            if incident is None and current is None:
                await pipe.unwatch()
                await self.redis.zrem(names.CONVERSATIONS_DUE, incident_id)
                return
            await self._write(pipe, current, incident, decide, now, speak_to_driver)

        await self.redis.transaction(attempt, conv_key, case_key)

    async def _write(
        self,
        pipe: aioredis.client.Pipeline,
        current: Conversation | None,
        incident: IncidentView | None,
        decide: Callable[[Conversation | None], Decision],
        now: int,
        speak_to_driver: bool = False,
    ) -> None:
        subject = incident or current.incident  # type: ignore[union-attr]
        policy = self.policy(subject)
        passenger = await self._passenger(subject.passenger_id)
        spend = await self._budget(pipe, subject, now)
        decision = decide(None if current is None else msgspec.structs.replace(current))
        if not decision.changed:
            await pipe.unwatch()
            return
        conv = decision.conversation
        if decision.steps and incident is None and await self._muted(conv.incident, now):
            decision.steps = []  # silenced while it waited
            conv.state = "quiet" if conv.state == "told" else conv.state
        plan = Plan()
        raw_case = await pipe.get(cases.case_key(subject.incident_id))
        plan.case = decode_case(raw_case) if raw_case else None
        if incident is not None:
            plan.paged_before = await self._paged_before(pipe, incident)
        if decision.steps:  # messages are rendered from the trip as it stands now
            plan.trip, plan.refund = await read_trip_facts(self.redis, subject.order_id), policy.refund
        if incident is not None:
            self._follow_incident(plan, incident, policy, now)
        for step in decision.steps:
            self._add_message(plan, conv, step, policy, passenger, spend, now)
        if speak_to_driver and incident is not None and drivers.wanted(incident):
            await self._add_driver_message(pipe, plan, incident, now, first=current is None)
        if incident is not None:
            self.escalation.on_incident(plan, incident, now, policy)
            self._page_first(plan, now)
        if "open" in decision.steps and conv.checkin_phone and plan.escalation_due:
            checkin_due = now + int(self.settings.checkin_timeout_s * 1000)  # no answer escalates
            plan.escalation_due = min(plan.escalation_due, checkin_due)
        pipe.multi()
        self._queue(pipe, conv, plan, spend)  # executed by the caller's transaction

    @staticmethod
    async def _paged_before(pipe: aioredis.client.Pipeline, incident: IncidentView) -> Case | None:
        """The case of the stop check-in a long_stop was escalated from, when that escalation paged
        on-call: its page stands for the long_stop too (escalation.Escalation.take_over)."""
        checkin_id = stop_escalation.escalated_from(incident)
        raw = await pipe.get(cases.case_key(checkin_id)) if checkin_id else None
        checkin_case = decode_case(raw) if raw else None
        return checkin_case if checkin_case is not None and checkin_case.escalation_level >= 0 else None

    def _follow_incident(self, plan: Plan, incident: IncidentView, policy: Policy, now: int) -> None:
        if plan.case is None and not (policy.open_case or policy.page or incident.severity == "critical"):
            return  # a page always has a case, so that someone can acknowledge it
        plan.case = cases.on_incident(plan.case, incident, now, self.settings)
        cases.follow_lifecycle(plan.case, incident, now, policy.resolve_after_s)
        plan.case_changed = True
        plan.entries.append(cases.incident_entry(incident, now))

    def _add_message(
        self,
        plan: Plan,
        conv: Conversation,
        step: str,
        policy: Policy,
        passenger: Passenger | None,
        spend: budget.Budget | None,
        now: int,
    ) -> None:
        steps = [step, "survey"] if step == "close" and policy.survey else [step]
        for one in steps:
            template = "survey" if one == "survey" else policy.template
            if not self.templates.has_step(template, one):
                continue  # this template says nothing at this step (e.g. no update)
            channels = self.channels_for(passenger, policy.channels)
            if not channels:
                self._note(plan, now, f"{one} message not sent: the passenger has no usable channel")
                if plan.case is not None and not plan.case.no_contact:
                    cases.mark_no_contact(plan.case)
                    plan.case_changed = True
                continue
            if budget.exempt(conv.incident, one):
                pass  # safety first: a critical incident or a check-in is never held back by a budget
            elif spend is None or not spend.take():
                self._note(plan, now, f"{one} message not sent: passenger's message budget is spent")
                continue
            else:
                plan.spent += 1
            conv.seq += 1
            message = self._message(conv, one, template, channels, passenger, plan, now)  # type: ignore[arg-type]
            plan.messages.append(message)
            if one == "survey" and plan.case is not None:
                cases.request_survey(plan.case, now)
                plan.case_changed = True
            text = f"{one} message queued for {'/'.join(channels)}: {message.body}"
            plan.entries.append(
                TimelineEntry(at=now, what="message", text=text, data={"message_id": message.message_id})
            )
            if passenger.phone and (one == "survey" or (one == "open" and conv.incident.is_safety)):
                conv.checkin_phone = passenger.phone  # its replies are for this case
                plan.asks_reply = True

    async def _add_driver_message(
        self, pipe: aioredis.client.Pipeline, plan: Plan, incident: IncidentView, now: int, first: bool
    ) -> None:
        """The driver's check-in or no-show notice (`drivers.py`), once per driver and incident."""
        trip = plan.trip or await read_trip_facts(self.redis, incident.order_id)
        wanted = drivers.driver_message(incident, trip)
        if wanted is None:
            return
        message_id = wanted.message_id(incident.incident_id)
        if await self.redis.exists(names.OUTBOX_MESSAGE + message_id):
            return  # this driver was told about this incident already
        driver = wanted.recipient()
        channels = self.channels_for(driver)
        if not channels:
            if first:
                self._note(
                    plan, now, f"{wanted.step} not sent: the driver has no push token (or push is off)"
                )
            return
        if not wanted.safety:  # the safety check-in is exempt, like the passenger's
            spend = await self._budget_of(pipe, driver.passenger_id, incident.order_id, now)
            if not spend.take():
                self._note(plan, now, f"{wanted.step} not sent: the driver's message budget is spent")
                return
            plan.driver_spend = spend
        texts = compose(self.templates, wanted.template, "open", incident, driver, channels, now, trip)
        message = OutboundMessage(
            message_id=message_id,
            incident_id=incident.incident_id,
            order_id=incident.order_id,
            case_id=plan.case.case_id if plan.case else None,
            step=wanted.step,
            priority="critical" if wanted.safety else "normal",
            severity=incident.severity,
            kind=incident.kind,
            audience="driver",
            channels=channels,
            recipients=self._recipients(driver, channels),
            title=texts.title,
            body=texts.body,
            bodies=texts.bodies,
            created_at=now,
        )
        plan.messages.append(message)
        text = f"{wanted.step} queued for the driver by push: {message.body}"
        plan.entries.append(TimelineEntry(at=now, what="message", text=text, data={"message_id": message_id}))

    def _message(
        self,
        conv: Conversation,
        step: str,
        template: str,
        channels: list[str],
        passenger: Passenger,
        plan: Plan,
        now: int,
    ) -> OutboundMessage:
        incident = conv.incident
        texts = compose(
            self.templates, template, step, incident, passenger, channels, now, plan.trip, plan.refund
        )
        return OutboundMessage(
            message_id=f"{incident.incident_id}:{conv.seq}:{step}",
            incident_id=incident.incident_id,
            order_id=incident.order_id,
            case_id=plan.case.case_id if plan.case else None,
            step=step,
            priority="critical" if incident.is_safety else "normal",
            severity=incident.severity,
            kind=incident.kind,
            channels=channels,
            recipients=self._recipients(passenger, channels),
            title=texts.title,
            body=texts.body,
            bodies=texts.bodies,
            created_at=now,
        )

    def channels_for(self, passenger: Passenger | None, allowed: tuple[str, ...] | None = None) -> list[str]:
        """The passenger's preference order, less opted-out, disallowed, unconfigured, unreachable."""
        if passenger is None:
            return []
        usable: list[str] = []
        for channel in passenger.channels:
            if channel in passenger.opted_out or channel not in self.ready_channels or channel in usable:
                continue
            if allowed is not None and channel not in allowed:
                continue
            if self._recipients(passenger, [channel]).get(channel):
                usable.append(channel)
        return usable

    def _recipients(self, passenger: Passenger, channels: list[str]) -> dict[str, str]:
        found = {}
        for channel in channels:
            notifier = NOTIFIERS.get(channel)
            if notifier is not None and notifier.address_setting:
                found[channel] = getattr(self.settings, notifier.address_setting)
            elif notifier is not None and notifier.passenger_field:
                found[channel] = getattr(passenger, notifier.passenger_field) or ""
        return {channel: value for channel, value in found.items() if value}

    def _page_first(self, plan: Plan, now: int) -> None:
        """A critical passenger message queued with the incident's first page waits for
        PagerDuty to accept the page, at most `outreach_page_first_wait_s`."""
        page = next(
            (m for m in plan.messages if m.step == "page-trigger" and m.message_id.endswith(":L0:trigger")),
            None,
        )
        if page is None:
            return
        hold_until = now + int(self.settings.outreach_page_first_wait_s * 1000)
        for message in plan.messages:
            if message.priority == "critical" and not message.step.startswith("page-"):
                message.after_page, message.hold_until = page.message_id, hold_until

    @staticmethod
    def _note(plan: Plan, now: int, text: str) -> None:
        plan.entries.append(TimelineEntry(at=now, what="note", text=text))

    def _queue(
        self, pipe: aioredis.client.Pipeline, conv: Conversation, plan: Plan, spend: budget.Budget | None
    ) -> None:
        key = conversation_key(conv.incident_id)
        pipe.set(key, encode(conv))
        if conv.due_at is None:
            pipe.zrem(names.CONVERSATIONS_DUE, conv.incident_id)
        else:
            pipe.zadd(names.CONVERSATIONS_DUE, {conv.incident_id: conv.due_at})
        if conv.checkin_phone and plan.asks_reply:  # not on every write: a later one (its closing
            # message) must not take the number's replies from the check-in sent since
            pipe.set(names.CHECKIN + conv.checkin_phone, conv.incident_id, ex=86_400)
        if spend is not None:
            budget.spend(pipe, spend, plan.spent)
        if plan.driver_spend is not None:
            budget.spend(pipe, plan.driver_spend, 1)
        if plan.case is not None:
            queue_case_step(pipe, plan, plan.case.case_id, self.settings.helpdesk_webhook_url)
            return
        for message in plan.messages:  # no case: nothing else to write
            queue_message(pipe, message, message.created_at)

    async def _passenger(self, passenger_id: str | None) -> Passenger | None:
        if not passenger_id:
            return None
        raw = await self.redis.get(names.passenger_key(passenger_id))
        if not raw:
            return None
        return await keywords.with_opt_outs(self.redis, msgspec.json.decode(raw, type=Passenger))

    async def _budget(
        self, pipe: aioredis.client.Pipeline, incident: IncidentView, now: int
    ) -> budget.Budget | None:
        if not incident.passenger_id:
            return None
        return await self._budget_of(pipe, incident.passenger_id, incident.order_id, now)

    async def _budget_of(
        self, pipe: aioredis.client.Pipeline, who: str, order_id: str, now: int
    ) -> budget.Budget:
        trip_key, day_key = budget.keys(who, order_id, now)
        await pipe.watch(trip_key, day_key)
        return await budget.read(pipe, self.settings, trip_key, day_key)


async def escalate_due(outreach: Outreach, limit: int = 100) -> int:
    """Cases whose acknowledgement deadline passed: page the next level."""
    now = outreach.clock()
    redis = outreach.redis
    due = await redis.zrangebyscore(names.ESCALATIONS_DUE, "-inf", now, start=0, num=limit)
    for raw_id in due:
        await escalate_case(outreach, raw_id.decode(), now, "no acknowledgement or check-in reply in time")
    return len(due)


async def escalate_case(
    outreach: Outreach, case_id: str, now: int, why: str, asked_for_help: bool = False
) -> None:
    """One step up the escalation ladder for `case_id`, unless a person has it already. A stop
    check-in that escalates also asks the worker for the critical long_stop now (stop_escalation)."""
    no_answer = checkin.no_answer(outreach.settings.checkin_timeout_s)

    def step(plan: Plan, case: Case, incident: IncidentView) -> None:
        first_page = case.escalation_level < 0  # a later level is the same unanswered check-in
        if asked_for_help or first_page:
            reason = checkin.HELP if asked_for_help else no_answer
            plan.stop_escalation = stop_escalation.request_for(case, incident, now, reason, asked_for_help)
        if case.state == "open" and not incident.subordinate_to:  # under a critical one: it pages
            paged = stop_escalation.page_view(incident, plan.stop_escalation)
            outreach.escalation.escalate(plan, case, paged, now, why, outreach.policy(incident))
        if plan.stop_escalation is not None:
            text = f"{reason}: the critical long_stop of the trip is raised now"
            plan.entries.append(TimelineEntry(at=now, what="escalation", text=text))

    await step_case(outreach, case_id, step, escalation_due=-1)  # -1: none, unless `step` sets one
    await stop_escalation.flush(outreach.redis, outreach.send_escalation)  # at once; else the next tick


async def step_case(
    outreach: Outreach, case_id: str, step: Callable[[Plan, Case, IncidentView], None], **schedule: int
) -> None:
    """An escalation or reminder step on `case_id`, in one optimistic transaction: a plan starting
    from `schedule` (escalation_due / reminder_due) is filled in by `step` when the case and its
    conversation exist, then written."""
    key, conv_key = cases.case_key(case_id), conversation_key(case_id)

    async def attempt(pipe: aioredis.client.Pipeline) -> None:
        raw_case, raw_conv = await pipe.mget(key, conv_key)
        plan = Plan(case=decode_case(raw_case) if raw_case else None, **schedule)
        if plan.case is not None and raw_conv is not None:
            step(plan, plan.case, decode_conversation(raw_conv).incident)
        pipe.multi()
        queue_case_step(pipe, plan, case_id, outreach.settings.helpdesk_webhook_url)

    await outreach.redis.transaction(attempt, key, conv_key)


def queue_case_step(pipe: aioredis.client.Pipeline, plan: Plan, case_id: str, helpdesk_url: str) -> None:
    """What a plan writes about its case, in the caller's MULTI: the case and its helpdesk export,
    the timeline, the messages, and the next steps (None = unchanged, -1 = none)."""
    if plan.case is not None and plan.case_changed:
        cases.queue_case(pipe, plan.case)
        queue_export(pipe, plan.case, plan.entries, helpdesk_url)
    for entry in plan.entries:
        add_timeline(pipe, case_id, entry)
    for message in plan.messages:
        queue_message(pipe, message, message.created_at)
    if plan.stop_escalation is not None:
        stop_escalation.queue(pipe, plan.stop_escalation)
    escalation.queue_schedules(pipe, plan.escalation_due, plan.reminder_due, case_id)
