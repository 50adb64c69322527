"""The soft stop check-in through outreach with the built-in rule: asked at once, nobody paged;
no answer or "help" pages; under a critical long_stop it says and pages nothing more."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.models import Passenger
from core.settings import Settings
from notifiers.engine import escalate_due
from rules.loader import load_rule_dir
from tests.notifiers import fakes
from tests.notifiers.conftest import add_passenger
from tests.notifiers.test_outreach import drain, incident, parts
from tests.notifiers.test_paging_rules import outreach_for, pages_of

PACK = Path(__file__).resolve().parents[2] / "rules" / "pack"
SAFETY = "f" * 32


@pytest.fixture
def checkin_settings(outreach_settings: Settings) -> Settings:
    return outreach_settings.replace(
        escalation_levels=f"{fakes.ROUTING_KEYS[0]}@60",
        page_routes=f"safety={SAFETY}",
        checkin_timeout_s=120.0,
        outreach_budget_per_trip=0,  # spent: the check-in is a safety message all the same
    )


def stopped(order: str, revision: int = 1, **extra):
    values = {
        "incident_id": f"{order}:stop_checkin",
        "kind": "stop_checkin",
        "severity": "high",
        "rule_id": "stop-checkin",
        "summary": "car stopped on the route for 3 min, traffic moving: check-in",
    }
    return incident(order, revision, **(values | extra))


async def passengers(redis, *orders: str) -> None:
    for n, order in enumerate(orders):
        phone = f"+1555000{n:04d}"
        await add_passenger(
            redis, Passenger(passenger_id=f"p-{order}", name="Anna", locale="en", phone=phone)
        )


async def test_the_check_in_goes_at_once_whatever_the_budget_and_pages_nobody(
    checkin_settings, redis, http, clock, providers
) -> None:
    outreach = outreach_for(checkin_settings, redis, clock, load_rule_dir(PACK))
    _, dispatcher = parts(checkin_settings, redis, http, clock)
    await passengers(redis, "s1")
    await outreach.on_incident(stopped("s1"))
    await drain(dispatcher, clock)
    [sms] = providers.sms
    assert "stopped for a few minutes. All well?" in sms["body"] and "Reply 1 I'm OK" in sms["body"]
    assert providers.pages == []


async def test_no_answer_or_help_pages_on_call_and_i_am_ok_holds_it(
    checkin_settings, redis, http, clock, providers
) -> None:
    from notifiers.inbound import handle_reply

    outreach = outreach_for(checkin_settings, redis, clock, load_rule_dir(PACK))
    _, dispatcher = parts(checkin_settings, redis, http, clock)
    await passengers(redis, "s1", "s2", "s3")
    for order in ("s1", "s2", "s3"):
        await outreach.on_incident(stopped(order))
    await drain(dispatcher, clock)
    assert await handle_reply(outreach, "+15550000001", "2") == "help"  # s2: help, paged now
    assert await handle_reply(outreach, "+15550000002", "1") == "ok"  # s3: fine
    await drain(dispatcher, clock)
    assert pages_of(providers) == [("s2:stop_checkin:L0", SAFETY)]
    clock.advance(121)
    await escalate_due(outreach)  # s1 did not answer
    await drain(dispatcher, clock)
    assert ("s1:stop_checkin:L0", SAFETY) in pages_of(providers)
    assert all(not key.startswith("s3:") for key, _ in pages_of(providers))  # held back


async def test_under_a_critical_long_stop_it_pages_and_says_nothing_more(
    checkin_settings, redis, http, clock, providers
) -> None:
    from notifiers.inbound import handle_reply

    outreach = outreach_for(checkin_settings, redis, clock, load_rule_dir(PACK))
    _, dispatcher = parts(checkin_settings, redis, http, clock)
    await passengers(redis, "s4")
    await outreach.on_incident(stopped("s4"))
    await drain(dispatcher, clock)
    assert await handle_reply(outreach, "+15550000000", "1") == "ok"
    clock.advance(420)  # 10 min after the stop: the worker opens the critical long_stop
    critical = {
        "incident_id": "s4:long_stop",
        "kind": "long_stop",
        "severity": "critical",
        "rule_id": "long-stop",
    }
    await outreach.on_incident(incident("s4", 1, **critical))
    await outreach.on_incident(stopped("s4", 2, subordinate_to="s4:long_stop"))
    await drain(dispatcher, clock)
    clock.advance(120)  # past the check-in's page.after (8 min)
    await escalate_due(outreach)
    await drain(dispatcher, clock)
    assert [key for key, _ in pages_of(providers) if key.startswith("s4:stop_checkin")] == []
    assert ("s4:long_stop:L0", fakes.ROUTING_KEYS[0]) in pages_of(providers)
    assert len(providers.sms) == 2  # the soft check-in, then the critical one; nothing else
