"""A rule's paging: `page.to` (a named route), `page.after` (a durable delayed page) and
`repeat_interval` (reminders to on-call), checked at the fake PagerDuty through the dispatcher."""

from __future__ import annotations

import pytest

from core import names
from core.models import Passenger
from core.settings import Settings, SettingsError
from notifiers.cases import CaseStore
from notifiers.engine import Outreach, escalate_due
from notifiers.model import IncidentView
from notifiers.policy import default_policy_for, rule_policy_for
from notifiers.reminders import remind_due
from notifiers.render import Templates
from rules.loader import load_rules
from tests.notifiers import fakes
from tests.notifiers.conftest import add_passenger
from tests.notifiers.test_outreach import drain, incident, parts

LEVELS = f"{fakes.ROUTING_KEYS[0]}@60,{fakes.ROUTING_KEYS[1]}@120"
SAFETY_DESK, NIGHT_DESK = "d" * 32, "e" * 32
ROUTES = f"safety-desk={SAFETY_DESK}, night-desk={NIGHT_DESK}"

RULES = """
rules:
  - id: desk-now
    kind: pickup_delay
    actions:
      open_case: true
      page: {to: safety-desk}
  - id: desk-later
    kind: trip_delay
    actions:
      notify: {template: generic, channels: [sms]}
      open_case: true
      page: {to: night-desk, after: 5m}
      repeat_interval: 15m
  - id: nowhere
    kind: route_deviation
    actions:
      page: {to: no-such-desk}
  - id: sos-later
    kind: sos
    actions:
      page: {to: safety-desk, after: 5m}
  - id: signal-later
    kind: signal_lost
    actions:
      notify: {channels: [sms]}
      page: {to: safety-desk, after: 5m}
"""


@pytest.fixture
def paging_settings(outreach_settings: Settings) -> Settings:
    return outreach_settings.replace(escalation_levels=LEVELS, page_routes=ROUTES)


@pytest.fixture
def rule_set():
    return load_rules({"paging.yaml": RULES})


def outreach_for(settings: Settings, redis, clock, rule_set) -> Outreach:
    templates = Templates()
    policy = rule_policy_for(lambda: rule_set, default_policy_for(templates))
    return Outreach(settings, redis, templates, clock, policy=policy)


def late_trip(order: str, revision: int = 1, **extra) -> IncidentView:
    values = {"incident_id": f"{order}:trip_delay", "kind": "trip_delay", "rule_id": "desk-later"}
    return incident(order, revision, **(values | extra))


def pages_of(providers: fakes.Providers, action: str = "trigger") -> list[tuple[str, str]]:
    return [(p["dedup_key"], p["routing_key"]) for p in providers.pages if p["event_action"] == action]


async def timeline(redis, case_id: str) -> list[str]:
    return [entry.text for entry in await CaseStore(redis).timeline(case_id)]


def test_page_routes_setting_names_a_bad_item(outreach_settings: Settings) -> None:
    with pytest.raises(SettingsError, match="page route 'night-desk=short'"):
        outreach_settings.replace(page_routes=f"safety-desk={SAFETY_DESK},night-desk=short")
    with pytest.raises(SettingsError, match="'safety-desk' is given twice"):
        outreach_settings.replace(page_routes=f"safety-desk={SAFETY_DESK},safety-desk={NIGHT_DESK}")


def test_policy_carries_the_rule_paging(rule_set) -> None:
    policy = rule_policy_for(lambda: rule_set, default_policy_for(Templates()))
    later = policy(late_trip("p0"))
    assert (later.page, later.page_to, later.page_after_s, later.repeat_interval_s) == (
        True, "night-desk", 300.0, 900.0,
    )  # fmt: skip
    now = policy(incident("p0", 1, rule_id="desk-now"))
    assert (now.page_to, now.page_after_s, now.repeat_interval_s) == ("safety-desk", 0.0, None)
    assert policy(incident("p0", 1, rule_id="unknown-rule")).page is False


async def test_page_to_pages_the_route_then_climbs_the_ladder(
    paging_settings, redis, http, clock, providers, rule_set
) -> None:
    outreach = outreach_for(paging_settings, redis, clock, rule_set)
    _, dispatcher = parts(paging_settings, redis, http, clock)
    await outreach.on_incident(incident("p1", 1, rule_id="desk-now"))  # medium: pages only by its rule
    await drain(dispatcher, clock)
    assert pages_of(providers) == [("p1:pickup_delay:L0", SAFETY_DESK)]
    clock.advance(61)  # level 1's deadline: the ladder goes on from level 2
    assert await escalate_due(outreach) == 1
    await drain(dispatcher, clock)
    assert pages_of(providers)[-1] == ("p1:pickup_delay:L1", fakes.ROUTING_KEYS[1])
    case = await CaseStore(redis).get("p1:pickup_delay")
    assert case is not None and case.pages == {
        "p1:pickup_delay:L0": "safety-desk",
        "p1:pickup_delay:L1": "level 2",
    }
    await outreach.on_incident(incident("p1", 2, status="resolved", rule_id="desk-now"))
    await drain(dispatcher, clock)
    assert sorted(pages_of(providers, "resolve")) == [
        ("p1:pickup_delay:L0", SAFETY_DESK),
        ("p1:pickup_delay:L1", fakes.ROUTING_KEYS[1]),
    ]
    await outreach.on_incident(incident("p1", 3, rule_id="desk-now"))  # open again: paged afresh
    await drain(dispatcher, clock)
    assert pages_of(providers)[-1] == ("p1:pickup_delay:L0", SAFETY_DESK) and len(pages_of(providers)) == 3


async def test_unknown_route_pages_level_one_and_says_so(
    paging_settings, redis, http, clock, providers, rule_set
) -> None:
    outreach = outreach_for(paging_settings, redis, clock, rule_set)
    _, dispatcher = parts(paging_settings, redis, http, clock)
    lost = incident("p2", 1, rule_id="nowhere", kind="route_deviation", incident_id="p2:route_deviation")
    await outreach.on_incident(lost)
    await drain(dispatcher, clock)
    assert pages_of(providers) == [("p2:route_deviation:L0", fakes.ROUTING_KEYS[0])]
    texts = await timeline(redis, "p2:route_deviation")
    assert any("page route 'no-such-desk' is unknown" in text for text in texts)


async def test_page_after_waits_durably_and_pages_only_if_still_open(
    paging_settings, redis, http, clock, providers, rule_set
) -> None:
    outreach = outreach_for(paging_settings, redis, clock, rule_set)
    _, dispatcher = parts(paging_settings, redis, http, clock)
    await outreach.on_incident(late_trip("p3"))
    await drain(dispatcher, clock)
    clock.advance(299)
    assert await escalate_due(outreach) == 0
    await drain(dispatcher, clock)
    assert providers.pages == []
    restarted = outreach_for(paging_settings, redis, clock, rule_set)  # a new process, same Redis
    clock.advance(2)
    assert await escalate_due(restarted) == 1
    await drain(dispatcher, clock)
    assert pages_of(providers) == [("p3:trip_delay:L0", NIGHT_DESK)]
    assert any("night-desk will be paged in 5m" in text for text in await timeline(redis, "p3:trip_delay"))


async def test_no_delayed_page_when_acknowledged_or_cleared_first(
    paging_settings, redis, http, clock, providers, rule_set
) -> None:
    outreach = outreach_for(paging_settings, redis, clock, rule_set)
    _, dispatcher = parts(paging_settings, redis, http, clock)
    await outreach.on_incident(late_trip("p4"))
    await outreach.on_incident(late_trip("p5"))
    await outreach.on_incident(late_trip("p11"))
    clock.advance(60)
    await outreach.on_incident(late_trip("p11", 2, status="acknowledged"))  # acknowledged on the board
    await CaseStore(redis, paging_settings).act("p4:trip_delay", "acknowledge", "supervisor-1", clock())
    await outreach.on_incident(late_trip("p5", 2, status="resolved"))
    clock.advance(600)
    await escalate_due(outreach)
    await remind_due(outreach)
    await drain(dispatcher, clock)
    assert providers.pages == []
    assert await redis.zcard(names.ESCALATIONS_DUE) == 0
    assert any("nobody paged" in text for text in await timeline(redis, "p5:trip_delay"))


async def test_critical_incidents_page_at_once_whatever_the_delay(
    paging_settings, redis, http, clock, providers, rule_set
) -> None:
    outreach = outreach_for(paging_settings, redis, clock, rule_set)
    _, dispatcher = parts(paging_settings, redis, http, clock)
    sos = {"kind": "sos", "severity": "critical", "rule_id": "sos-later", "incident_id": "p6:sos"}
    await outreach.on_incident(incident("p6", 1, **sos))
    await outreach.on_incident(late_trip("p7"))  # waits for page.after...
    await drain(dispatcher, clock)
    assert pages_of(providers) == [("p6:sos:L0", SAFETY_DESK)]
    clock.advance(30)
    await outreach.on_incident(late_trip("p7", 2, severity="critical"))  # ...until it turns critical
    await drain(dispatcher, clock)
    assert pages_of(providers)[-1] == ("p7:trip_delay:L0", NIGHT_DESK)


async def test_reminders_follow_the_interval_once_each_and_stop_on_acknowledge(
    paging_settings, redis, http, clock, providers, rule_set
) -> None:
    outreach = outreach_for(paging_settings, redis, clock, rule_set)
    _, dispatcher = parts(paging_settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-p8", name="Anna", locale="en", phone="+15550000801"))

    async def minute_ticks(minutes: int) -> None:
        for _ in range(minutes):
            clock.advance(60)
            await outreach.tick()
            await escalate_due(outreach)
            await remind_due(outreach)
        await drain(dispatcher, clock)

    await outreach.on_incident(late_trip("p8"))
    await minute_ticks(5)  # page.after: the route is paged; level 2 a minute later, then the protocol
    await minute_ticks(14)
    assert pages_of(providers) == [
        ("p8:trip_delay:L0", NIGHT_DESK),
        ("p8:trip_delay:L1", fakes.ROUTING_KEYS[1]),
    ]
    await minute_ticks(1)  # 15 minutes after the page: the first reminder, to the level paged last
    reminder = providers.pages[-1]
    assert (reminder["dedup_key"], reminder["routing_key"]) == ("p8:trip_delay:R1", fakes.ROUTING_KEYS[1])
    assert reminder["payload"]["summary"] == "Reminder: driver late, unacknowledged for 15m"

    due = await redis.zscore(names.REMINDERS_DUE, "p8:trip_delay")
    await redis.zadd(names.REMINDERS_DUE, {"p8:trip_delay": clock() - 1})  # a replayed tick
    assert await remind_due(outreach) == 1
    await drain(dispatcher, clock)
    assert len(pages_of(providers)) == 3
    assert await redis.zscore(names.REMINDERS_DUE, "p8:trip_delay") == due

    await minute_ticks(15)
    assert [key for key, _ in pages_of(providers)][-1] == "p8:trip_delay:R2"
    await CaseStore(redis, paging_settings).act("p8:trip_delay", "acknowledge", "supervisor-1", clock())
    await minute_ticks(45)
    assert len(pages_of(providers)) == 4 and await redis.zcard(names.REMINDERS_DUE) == 0
    reminders = [t for t in await timeline(redis, "p8:trip_delay") if t.startswith("reminder ")]
    assert len(reminders) == 2 and "unacknowledged for 30m" in reminders[1]
    assert len(providers.sms) == 1  # the passenger heard once: reminders are for on-call only

    await outreach.on_incident(late_trip("p8", 2, status="resolved"))
    await drain(dispatcher, clock)
    assert sorted(key for key, _ in pages_of(providers, "resolve")) == [
        "p8:trip_delay:L0", "p8:trip_delay:L1", "p8:trip_delay:R1", "p8:trip_delay:R2",
    ]  # fmt: skip


async def test_an_unanswered_check_in_pages_early_and_i_am_ok_keeps_the_rules_page(
    paging_settings, redis, http, clock, providers, rule_set
) -> None:
    from notifiers.inbound import handle_reply

    settings = paging_settings.replace(checkin_timeout_s=60.0)
    outreach = outreach_for(settings, redis, clock, rule_set)
    _, dispatcher = parts(settings, redis, http, clock)
    lost = {"kind": "signal_lost", "severity": "high", "rule_id": "signal-later"}
    for order in ("p9", "p10"):
        await add_passenger(
            redis, Passenger(passenger_id=f"p-{order}", name="A", locale="en", phone=f"+1555{order[1:]:0>7}")
        )
        await outreach.on_incident(incident(order, 1, incident_id=f"{order}:signal_lost", **lost))
    await drain(dispatcher, clock)
    assert len(providers.sms) == 2 and providers.pages == []  # the check-ins went out; the page waits
    assert await handle_reply(outreach, "+15550000010", "1") == "ok"
    clock.advance(61)
    assert await escalate_due(outreach) == 1  # p9: no answer, so on-call is paged before page.after
    await drain(dispatcher, clock)
    assert pages_of(providers) == [("p9:signal_lost:L0", SAFETY_DESK)]  # p10 answered: not early
    clock.advance(600)
    await escalate_due(outreach)
    await drain(dispatcher, clock)
    assert pages_of(providers) == [
        ("p9:signal_lost:L0", SAFETY_DESK),
        ("p10:signal_lost:L0", SAFETY_DESK),  # "I'm OK" lowers nothing: the rule's page.after still pages
        ("p9:signal_lost:L1", fakes.ROUTING_KEYS[1]),
    ]
    case = await CaseStore(redis).get("p10:signal_lost")
    assert case is not None and case.passenger_ok_at is not None and case.severity == "high"


async def test_a_delayed_page_the_rule_no_longer_asks_for_is_not_sent(
    paging_settings, redis, http, clock, providers, rule_set
) -> None:
    in_force = [rule_set]
    templates = Templates()
    policy = rule_policy_for(lambda: in_force[0], default_policy_for(templates))
    outreach = Outreach(paging_settings, redis, templates, clock, policy=policy)
    _, dispatcher = parts(paging_settings, redis, http, clock)
    await outreach.on_incident(late_trip("p12"))  # night-desk in 5m...
    clock.advance(60)
    without_page = RULES.replace("      page: {to: night-desk, after: 5m}\n", "")
    in_force[0] = load_rules({"paging.yaml": without_page})  # ...but a new rule set is published
    clock.advance(241)
    assert await escalate_due(outreach) == 1
    await drain(dispatcher, clock)
    assert providers.pages == []
    assert await redis.zcard(names.ESCALATIONS_DUE) == 0
    assert any("no longer pages" in text for text in await timeline(redis, "p12:trip_delay"))
