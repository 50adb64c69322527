"""The soft stop check-in through outreach with the built-in rule: asked at once, nobody paged;
no answer or "help" pages and asks the worker for the critical long_stop (stop_escalation.py);
"I'm OK" holds both back; under a critical long_stop it says and pages nothing more."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import names
from core.checkin import HELP, StopEscalation
from core.models import Passenger
from core.settings import Settings
from notifiers.engine import escalate_due
from notifiers.stop_escalation import flush
from rules.loader import load_rule_dir
from tests.notifiers import fakes
from tests.notifiers.conftest import add_passenger
from tests.notifiers.test_outreach import drain, incident, parts
from tests.notifiers.test_paging_rules import outreach_for, pages_of, timeline

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
    assert "been stopped for a while. All well?" in sms["body"] and "Reply 1 I'm OK" in sms["body"]
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


# --- "help" or no answer also asks the worker for the critical long_stop (stop_escalation.py) ---

STOPPED_SINCE = 1_799_999_800_000


def stopped_here(order: str, revision: int = 1, **extra):
    facts = {"stopped_since_ts": STOPPED_SINCE, "lat": 55.75, "lon": 37.61, "on_route": True}
    return stopped(order, revision, details=facts, **extra)


class Requests:
    """What outreach sent towards the worker; `fail` makes the broker refuse it."""

    def __init__(self) -> None:
        self.sent: list[StopEscalation] = []
        self.fail = False

    async def __call__(self, request: StopEscalation) -> None:
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.sent.append(request)


async def test_help_asks_for_long_stop_at_once_with_the_check_in_facts_and_once_per_stop(
    checkin_settings, redis, clock
) -> None:
    from notifiers.inbound import handle_reply

    outreach = outreach_for(checkin_settings, redis, clock, load_rule_dir(PACK))
    outreach.send_escalation = requests = Requests()
    await passengers(redis, "h1")
    await outreach.on_incident(stopped_here("h1"))
    assert requests.sent == []  # asking the passenger escalates nothing
    assert await handle_reply(outreach, "+15550000000", "HELP") == "help"
    [request] = requests.sent
    assert request.order_id == "h1" and request.reason == HELP and request.ts == clock()
    assert (request.checkin_incident_id, request.stopped_since_ts) == ("h1:stop_checkin", STOPPED_SINCE)
    assert (request.lat, request.lon) == (55.75, 37.61)
    assert await redis.hlen(names.CHECKIN_ESCALATIONS_PENDING) == 0  # the broker has it
    timeline = [e.decode() for e in await redis.lrange(names.CASE_TIMELINE + "h1:stop_checkin", 0, -1)]
    assert any(
        "passenger asked for help: the critical long_stop of the trip is raised now" in e for e in timeline
    )
    await handle_reply(outreach, "+15550000000", "2")  # asked twice: the same request, harmless
    assert {r.event_id for r in requests.sent} == {request.event_id}


async def test_no_answer_asks_for_long_stop_and_i_am_ok_does_not(checkin_settings, redis, clock) -> None:
    from notifiers.inbound import handle_reply

    outreach = outreach_for(checkin_settings, redis, clock, load_rule_dir(PACK))
    outreach.send_escalation = requests = Requests()
    await passengers(redis, "n1", "n2")
    for order in ("n1", "n2"):
        await outreach.on_incident(stopped_here(order))
    assert await handle_reply(outreach, "+15550000001", "1") == "ok"  # n2: fine
    clock.advance(121)
    await escalate_due(outreach)
    [request] = requests.sent
    assert request.order_id == "n1" and request.reason == "no answer in 2 min"
    clock.advance(480)  # n2's own page.after: it pages, but long_stop waits for its 10 min
    await escalate_due(outreach)
    assert [r.order_id for r in requests.sent] == ["n1"]


async def test_a_broker_outage_delays_the_request_never_the_page(
    checkin_settings, redis, http, clock, providers
) -> None:
    from notifiers.inbound import handle_reply

    outreach = outreach_for(checkin_settings, redis, clock, load_rule_dir(PACK))
    outreach.send_escalation = requests = Requests()
    _, dispatcher = parts(checkin_settings, redis, http, clock)
    await passengers(redis, "b1")
    await outreach.on_incident(stopped_here("b1"))
    requests.fail = True
    assert await handle_reply(outreach, "+15550000000", "HELP") == "help"  # applied: no Twilio retry
    await drain(dispatcher, clock)
    assert pages_of(providers) == [("b1:stop_checkin:L0", SAFETY)]  # paged all the same
    assert await redis.hlen(names.CHECKIN_ESCALATIONS_PENDING) == 1  # kept for the next tick
    requests.fail = False
    assert await flush(redis, requests) == 1
    assert [r.reason for r in requests.sent] == [HELP]
    assert await redis.hlen(names.CHECKIN_ESCALATIONS_PENDING) == 0


async def test_under_a_critical_long_stop_help_asks_for_nothing_more(checkin_settings, redis, clock) -> None:
    from notifiers.inbound import handle_reply

    outreach = outreach_for(checkin_settings, redis, clock, load_rule_dir(PACK))
    outreach.send_escalation = requests = Requests()
    await passengers(redis, "u1")
    await outreach.on_incident(stopped_here("u1"))
    await outreach.on_incident(stopped_here("u1", 2, subordinate_to="u1:long_stop"))
    await handle_reply(outreach, "+15550000000", "HELP")
    assert requests.sent == []


async def test_help_after_another_incident_closed_still_answers_the_check_in(
    checkin_settings, redis, clock
) -> None:
    """A closing message of an earlier safety incident must not take the number's replies."""
    from notifiers.inbound import handle_reply

    outreach = outreach_for(checkin_settings, redis, clock, load_rule_dir(PACK))
    outreach.send_escalation = requests = Requests()
    await passengers(redis, "c1")
    lost = {
        "incident_id": "c1:signal_lost",
        "kind": "signal_lost",
        "severity": "high",
        "rule_id": "signal-lost",
    }
    await outreach.on_incident(incident("c1", 1, **lost))
    await outreach.on_incident(stopped_here("c1"))
    await outreach.on_incident(incident("c1", 2, status="resolved", **lost))  # "the alert is closed"
    assert await redis.get(names.CHECKIN + "+15550000000") == b"c1:stop_checkin"
    assert await handle_reply(outreach, "+15550000000", "HELP") == "help"
    assert [r.checkin_incident_id for r in requests.sent] == ["c1:stop_checkin"]


async def test_help_from_the_app_asks_for_long_stop_too(checkin_settings, redis, clock) -> None:
    from notifiers.inbound import apply_choice

    outreach = outreach_for(checkin_settings, redis, clock, load_rule_dir(PACK))
    outreach.send_escalation = requests = Requests()
    await passengers(redis, "a1")
    await outreach.on_incident(stopped_here("a1"))
    assert await apply_choice(outreach, "a1:stop_checkin", "help", "app action 'help'") == "help"
    assert [(r.order_id, r.reason) for r in requests.sent] == [("a1", HELP)]


# --- one page for one stop: the help reply's page is critical, and the long_stop it raises takes it over ---


def escalated_long_stop(order: str) -> dict:
    return {
        "incident_id": f"{order}:long_stop",
        "kind": "long_stop",
        "severity": "critical",
        "rule_id": "long-stop",
        "summary": "car stationary mid-trip for 4m: passenger asked for help (stop check-in)",
        "details": {"escalated_from": f"{order}:stop_checkin", "escalation_reason": HELP},
    }


async def test_help_pages_on_call_once_critical_with_the_answer_and_the_long_stop_takes_that_page_over(
    checkin_settings, redis, http, clock, providers
) -> None:
    from notifiers.inbound import handle_reply

    settings = checkin_settings.replace(
        escalation_levels=f"{fakes.ROUTING_KEYS[0]}@60,{fakes.ROUTING_KEYS[1]}@60"
    )
    outreach = outreach_for(settings, redis, clock, load_rule_dir(PACK))
    outreach.send_escalation = Requests()
    _, dispatcher = parts(settings, redis, http, clock)
    await passengers(redis, "p1")
    await outreach.on_incident(stopped_here("p1"))
    assert await handle_reply(outreach, "+15550000000", "HELP") == "help"
    clock.advance(1)  # the worker raises the critical long_stop; the check-in goes under it
    await outreach.on_incident(incident("p1", 1, **escalated_long_stop("p1")))
    await outreach.on_incident(stopped_here("p1", 2, subordinate_to="p1:long_stop"))
    await drain(dispatcher, clock)
    [page] = [p for p in providers.pages if p["event_action"] == "trigger"]
    assert (page["dedup_key"], page["routing_key"]) == ("p1:stop_checkin:L0", SAFETY)
    assert page["payload"]["severity"] == "critical"
    assert page["payload"]["summary"].startswith("passenger asked for help: ")
    texts = await timeline(redis, "p1:long_stop")
    assert any("no second page" in text for text in texts)

    clock.advance(60)  # nobody acknowledged: the ladder goes on from the long_stop's case, once
    await escalate_due(outreach)
    await drain(dispatcher, clock)
    assert pages_of(providers)[1:] == [("p1:long_stop:L1", fakes.ROUTING_KEYS[1])]

    await outreach.on_incident(incident("p1", 2, status="resolved", **escalated_long_stop("p1")))
    await drain(dispatcher, clock)
    assert ("p1:stop_checkin:L0", SAFETY) in pages_of(providers, "resolve")  # the page it took over


async def test_a_long_stop_raised_while_no_page_was_sent_pages_on_its_own(
    checkin_settings, redis, http, clock, providers
) -> None:
    outreach = outreach_for(checkin_settings, redis, clock, load_rule_dir(PACK))
    _, dispatcher = parts(checkin_settings, redis, http, clock)
    await passengers(redis, "p2")
    await outreach.on_incident(stopped_here("p2"))  # asked; no answer yet, so nobody paged
    await outreach.on_incident(incident("p2", 1, **escalated_long_stop("p2")))
    await drain(dispatcher, clock)
    assert pages_of(providers) == [("p2:long_stop:L0", fakes.ROUTING_KEYS[0])]
