"""Safety first: budgets never hold back a critical incident or a check-in; the page is accepted
before the passenger message goes, but a paging outage holds it back no longer than the bound."""

from __future__ import annotations

from core.models import Passenger
from notifiers import budget
from notifiers.cases import CaseStore
from notifiers.outbox import Outbox
from tests.notifiers import fakes
from tests.notifiers.conftest import add_passenger
from tests.notifiers.test_escalation import sos
from tests.notifiers.test_outreach import drain, incident, parts

LEVEL_1 = f"{fakes.ROUTING_KEYS[0]}@600"


def test_budget_exempts_critical_incidents_and_check_ins() -> None:
    assert budget.exempt(sos("x"), "open") and budget.exempt(sos("x"), "close")
    lost = incident("x", 1, kind="signal_lost", severity="high")
    assert budget.exempt(lost, "open") and not budget.exempt(lost, "update")
    assert not budget.exempt(incident("x", 1), "open")


async def test_a_spent_budget_holds_back_no_check_in_of_a_reopened_critical_incident(
    outreach_settings, redis, http, clock, providers
) -> None:
    settings = outreach_settings.replace(outreach_budget_per_trip=1, outreach_group_wait_s=0.0)
    outreach, dispatcher = parts(settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-sb1", name="A", locale="en", phone="+15550005001"))
    await outreach.on_incident(incident("sb1", 1))  # the pickup delay spends the trip's budget
    await outreach.on_incident(incident("sb1", 1, kind="trip_delay", incident_id="sb1:trip_delay"))
    await outreach.on_incident(sos("sb1"))
    await outreach.on_incident(sos("sb1", 2, status="resolved"))
    clock.advance(1)
    await outreach.tick()
    await outreach.on_incident(sos("sb1", 3))  # reopened
    await drain(dispatcher, clock)
    checkins = [m for m in providers.sms if "Reply 1 I'm OK" in m["body"]]
    assert len(checkins) == 2  # the first and the reopened one, budget or not
    texts = [e.text for e in await CaseStore(redis).timeline("sb1:trip_delay")]
    assert any("budget is spent" in text for text in texts)  # normal messages still obey it


async def test_the_page_is_accepted_before_the_check_in_goes(
    outreach_settings, redis, http, clock, providers
) -> None:
    settings = outreach_settings.replace(escalation_levels=LEVEL_1, outreach_max_attempts=5)
    outreach, dispatcher = parts(settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-sp1", name="A", locale="en", phone="+15550005101"))
    providers.fail["pagerduty"] = [503, 503]  # PagerDuty takes the third try
    await outreach.on_incident(sos("sp1"))
    for _ in range(20):
        while await dispatcher.run_once():
            assert not providers.sms or providers.pages, "the SMS overtook the page"
        if not await dispatcher.outbox.pending():
            break
        clock.advance(0.1)
    assert len(providers.pages) == 1 and len(providers.sms) == 1
    checkin = await Outbox(redis, 1000).get("sp1:sos:1:open")
    assert (
        checkin is not None
        and checkin.history[0].detail == "page first: sent after PagerDuty accepted the page"
    )


async def test_a_paging_outage_holds_the_check_in_back_only_for_the_bound(
    outreach_settings, redis, http, clock, providers
) -> None:
    update = {
        "escalation_levels": LEVEL_1,
        "outreach_page_first_wait_s": 5.0,
        "outreach_max_attempts": 20,
        "outreach_retry_base_s": 1.0,
        "outreach_retry_max_s": 2.0,
    }
    outreach, dispatcher = parts(outreach_settings.replace(**update), redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-sp2", name="A", locale="en", phone="+15550005102"))
    providers.down.add("pagerduty")
    started = clock()
    await outreach.on_incident(sos("sp2"))
    while not providers.sms and clock() - started < 30_000:
        while await dispatcher.run_once():
            pass
        if not providers.sms:
            clock.advance(0.25)
    waited_s = (clock() - started) / 1000
    assert providers.pages == [] and 5.0 <= waited_s <= 5.5  # never indefinitely: at the bound
    checkin = await Outbox(redis, 1000).get("sp2:sos:1:open")
    assert checkin is not None and "not accepted in time, sent anyway" in checkin.history[0].detail


async def test_without_paging_the_check_in_goes_at_once(
    outreach_settings, redis, http, clock, providers
) -> None:
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)  # no escalation_levels, no routes
    await add_passenger(redis, Passenger(passenger_id="p-sp3", name="A", locale="en", phone="+15550005103"))
    await outreach.on_incident(sos("sp3"))
    assert await dispatcher.run_once() and len(providers.sms) == 1
