"""Cases follow the incident: the SLA follows its severity, and incidents that end on a final
event resolve themselves once handled, so their closing message and survey happen."""

from __future__ import annotations

import msgspec

from core import names
from core.incident_store import IncidentStore
from core.incidents import IncidentChange
from core.models import Passenger
from notifiers.cases import CaseStore, on_incident
from notifiers.lifecycle import WAIT_FOR_OPENING_MS, WAIT_FOR_PERSON_MS, resolve_due
from notifiers.model import IncidentView
from notifiers.policy import default_policy_for, rule_policy_for
from notifiers.render import Templates
from rules.loader import load_rules
from tests.notifiers.conftest import add_passenger
from tests.notifiers.test_outreach import drain, incident, parts


def test_the_sla_follows_the_severity_from_the_opening(outreach_settings) -> None:
    s = outreach_settings
    cancelled = incident("sla1", 1, kind="driver_cancellation", severity="high")
    case = on_incident(None, cancelled, 1_000, s)
    assert case.sla_due_at == 1_000 + s.case_sla_high_s * 1000
    critical = on_incident(
        case, msgspec.structs.replace(cancelled, severity="critical", revision=2), 60_000, s
    )
    assert critical.sla_due_at == 1_000 + s.case_sla_critical_s * 1000  # 300 s, not 900 s
    payment = on_incident(None, incident("sla2", 1, kind="payment_failure"), 5_000, s)
    high = on_incident(payment, incident("sla2", 2, kind="payment_failure", severity="high"), 9_000, s)
    assert high.sla_due_at == 5_000 + s.case_sla_high_s * 1000
    same = on_incident(high, incident("sla2", 3, kind="payment_failure", severity="high"), 99_000, s)
    assert same.sla_due_at == high.sla_due_at


def test_final_events_get_a_lifecycle_and_a_rule_can_set_it() -> None:
    templates = Templates()
    rule_set = load_rules(
        {
            "r.yaml": "rules:\n  - id: sc\n    kind: system_cancellation\n    actions:\n      open_case: true\n      resolve_after: 2m\n"
        }
    )
    policy = rule_policy_for(lambda: rule_set, default_policy_for(templates))
    assert policy(incident("x", 1, kind="system_cancellation", rule_id="sc")).resolve_after_s == 120.0
    assert policy(incident("x", 1, kind="system_cancellation")).resolve_after_s == 900.0
    assert policy(incident("x", 1, kind="payment_failure")).resolve_after_s == 3600.0
    assert policy(incident("x", 1)).resolve_after_s is None  # a pickup delay clears the ordinary way


async def opened_in_store(redis, order: str, now: int) -> IncidentView:
    change = IncidentChange(
        action="open",
        kind="system_cancellation",
        order_id=order,
        passenger_id=f"p-{order}",
        severity="high",
        summary="the platform cancelled the order",
        details={"reason": "no_driver"},
    )
    stored = await IncidentStore(redis).apply(change, now)
    assert stored is not None
    return msgspec.convert(msgspec.to_builtins(stored), IncidentView)


async def test_a_system_cancellation_resolves_itself_and_its_closing_and_survey_go_out(
    outreach_settings, redis, http, clock, providers
) -> None:
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-lc1", name="A", locale="en", phone="+15550006001"))
    await outreach.on_incident(await opened_in_store(redis, "lc1", clock()))
    opened = clock()
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    assert len(providers.sms) == 1
    case = await CaseStore(redis).get("lc1:system_cancellation")
    assert case is not None and case.resolve_due_at == opened + 900_000
    assert await redis.zscore(names.CASES_LIFECYCLE, case.case_id) == opened + 900_000
    assert await resolve_due(outreach) == 0  # not yet
    clock.now = opened + 900_000
    assert await resolve_due(outreach) == 1
    stored = await IncidentStore(redis).get("lc1:system_cancellation")
    assert (
        stored is not None
        and stored.status == "resolved"
        and "final event handled" in (stored.resolution or "")
    )
    case = await CaseStore(redis).get(case.case_id)
    assert case is not None and case.state == "resolved" and case.resolve_due_at is None
    assert await redis.zscore(names.CASES_LIFECYCLE, case.case_id) is None
    assert await resolve_due(outreach) == 0  # a replayed tick does nothing
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    assert len(providers.sms) == 3 and "from 1" in providers.sms[-1]["body"].lower()  # closing, then survey
    case = await CaseStore(redis).get(case.case_id)
    assert case is not None and case.survey_requested


async def test_the_lifecycle_waits_while_the_opening_is_on_its_way(
    outreach_settings, redis, http, clock, providers
) -> None:
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-lc2", name="A", locale="en", phone="+15550006002"))
    await outreach.on_incident(await opened_in_store(redis, "lc2", clock()))
    clock.advance(31)
    await outreach.tick()  # the opening is queued, not sent yet
    clock.advance(900)
    assert await resolve_due(outreach) == 1
    case = await CaseStore(redis).get("lc2:system_cancellation")
    assert case is not None and case.state == "open"
    assert await redis.zscore(names.CASES_LIFECYCLE, case.case_id) == clock() + WAIT_FOR_OPENING_MS
    await drain(dispatcher, clock)
    clock.advance(WAIT_FOR_OPENING_MS / 1000)
    await resolve_due(outreach)
    case = await CaseStore(redis).get("lc2:system_cancellation")
    assert case is not None and case.state == "resolved"


async def test_a_paged_final_event_waits_for_a_person_before_it_resolves(
    outreach_settings, redis, http, clock, providers
) -> None:
    from tests.notifiers import fakes

    settings = outreach_settings.replace(escalation_levels=f"{fakes.ROUTING_KEYS[0]}@3600")
    outreach, dispatcher = parts(settings, redis, http, clock)
    ended = {"kind": "early_end", "incident_id": "lc3:early_end", "severity": "critical"}
    await outreach.on_incident(incident("lc3", 1, **ended))
    await drain(dispatcher, clock)
    assert len(providers.pages) == 1
    clock.advance(901)
    assert await resolve_due(outreach) == 1
    case = await CaseStore(redis).get("lc3:early_end")
    assert case is not None and case.state == "open"  # nobody acknowledged: the page stands
    await CaseStore(redis).act(case.case_id, "acknowledge", "supervisor-1", clock())
    clock.advance(WAIT_FOR_PERSON_MS / 1000)
    assert await resolve_due(outreach) == 1
    case = await CaseStore(redis).get("lc3:early_end")
    assert case is not None and case.state == "resolved"
