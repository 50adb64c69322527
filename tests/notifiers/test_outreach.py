"""Outreach end to end at the level of plain calls: engine + dispatcher + real Redis + provider fakes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from core import names
from core.models import Passenger
from core.settings import Settings
from notifiers.cases import CaseStore
from notifiers.dispatcher import Dispatcher
from notifiers.engine import Outreach
from notifiers.model import IncidentView
from notifiers.outbox import Outbox
from notifiers.registry import build_notifiers
from notifiers.render import Templates
from tests.notifiers.conftest import Clock, add_passenger

DRIVER = {"id": "d1", "name": "Ivan Petrov", "plate": "A123BC77"}


def incident(order: str, revision: int, status: str = "open", **extra: Any) -> IncidentView:
    values: dict[str, Any] = {
        "incident_id": f"{order}:pickup_delay",
        "kind": "pickup_delay",
        "severity": "medium",
        "status": status,
        "order_id": order,
        "passenger_id": f"p-{order}",
        "summary": "driver late",
        "details": {"driver": DRIVER},
        "revision": revision,
    }
    return IncidentView(**(values | extra))


def wall_clock() -> int:
    return int(time.time() * 1000)


def parts(settings: Settings, redis: aioredis.Redis, http: aiohttp.ClientSession, clock: Clock):
    outreach = Outreach(settings, redis, Templates(), clock)
    dispatcher = Dispatcher(settings, redis, build_notifiers(settings, http), clock)
    return outreach, dispatcher


async def drain(dispatcher: Dispatcher, clock: Clock, rounds: int = 40) -> None:
    """Deliver until the outbox is empty, moving the hand clock over retry delays."""
    for _ in range(rounds):
        while await dispatcher.run_once():
            pass
        if not await dispatcher.outbox.pending():
            return
        clock.advance(1)
    raise AssertionError("outbox did not drain")


async def test_happy_path_in_three_locales(outreach_settings, redis, http, clock, providers) -> None:
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    people = {
        "en": Passenger(passenger_id="p-o-en", name="Anna Smith", locale="en", push_token="tok-en"),
        "ru": Passenger(
            passenger_id="p-o-ru", name="Олег", locale="ru-RU", phone="+79990000001", channels=["sms"]
        ),
        "zh": Passenger(
            passenger_id="p-o-zh", name="王伟", locale="zh", phone="+8613800000001", channels=["sms"]
        ),
    }
    for person in people.values():
        await add_passenger(redis, person)
    for locale in people:
        await outreach.on_incident(incident(f"o-{locale}", 1))
    await drain(dispatcher, clock)
    assert not providers.sms and not providers.push  # group_wait holds the first message
    clock.advance(31)
    assert await outreach.tick() == 3
    await drain(dispatcher, clock)
    assert [m["notification"]["body"] for m in providers.push] == [
        "Anna, sorry, Ivan (A123BC77) is running late. "
        "You can keep waiting, or cancel free of charge in the app."
    ]
    bodies = {m["to"]: m["body"] for m in providers.sms}
    assert "водитель Ivan (A123BC77) опаздывает" in bodies["+79990000001"]
    assert "司机Ivan（A123BC77）将晚到" in bodies["+8613800000001"]
    timeline = await CaseStore(redis).timeline("o-ru:pickup_delay")
    assert [e.what for e in timeline] == ["incident", "message", "delivery"]
    assert "sent by sms" in timeline[-1].text


async def test_group_wait_suppresses_a_self_clearing_problem(
    outreach_settings, redis, http, clock, providers
) -> None:
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-o1", name="Anna", locale="en", phone="+15550000001"))
    await outreach.on_incident(incident("o1", 1))
    clock.advance(10)
    await outreach.on_incident(incident("o1", 2, status="resolved", resolution="driver arrived"))
    clock.advance(60)
    await outreach.tick()
    await drain(dispatcher, clock)
    assert providers.sms == []
    case = await CaseStore(redis).get("o1:pickup_delay")
    assert case is not None and case.state == "resolved"


async def test_update_only_on_news_redelivery_ignored_and_closing(
    outreach_settings, redis, http, clock, providers
):
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-o2", name="Anna", locale="en", phone="+15550000002"))
    await outreach.on_incident(incident("o2", 1))
    clock.advance(31)
    await outreach.tick()
    await outreach.on_incident(incident("o2", 1))  # redelivered
    await outreach.on_incident(incident("o2", 2, summary="same facts, new words"))  # nothing new for them
    eta = clock.now + 9 * 60_000
    await outreach.on_incident(incident("o2", 3, details={"driver": DRIVER, "eta_pickup_ts": eta}))
    await outreach.on_incident(incident("o2", 3, details={"driver": DRIVER, "eta_pickup_ts": eta}))
    await outreach.on_incident(incident("o2", 4, status="resolved"))
    await drain(dispatcher, clock)
    assert len(providers.sms) == 2  # opening and update; the close waits group_wait (flapping)
    assert "now about 9 min away" in providers.sms[1]["body"]
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    assert len(providers.sms) == 3 and "closed the issue with your pickup" in providers.sms[2]["body"]


async def test_flapping_incident_sends_no_close_and_no_second_opening(
    outreach_settings, redis, http, clock, providers
):
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-o3", name="Anna", locale="en", phone="+15550000003"))
    await outreach.on_incident(incident("o3", 1))
    clock.advance(31)
    await outreach.tick()
    for revision in range(2, 8, 2):
        clock.advance(5)
        await outreach.on_incident(incident("o3", revision, status="resolved"))
        clock.advance(5)
        await outreach.on_incident(incident("o3", revision + 1))
        await outreach.tick()
    await drain(dispatcher, clock)
    assert len(providers.sms) == 1


async def test_subordinate_incident_sends_nothing(outreach_settings, redis, http, clock, providers) -> None:
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-o4", name="Anna", locale="en", phone="+15550000004"))
    await outreach.on_incident(incident("o4", 1, subordinate_to="o4:sos"))
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    assert providers.sms == []


async def test_opt_out_is_respected_and_no_contact_is_on_the_case(
    outreach_settings, redis, http, clock, providers
):
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    both = {"phone": "+15550000005", "push_token": "tok-5"}
    await add_passenger(
        redis, Passenger(passenger_id="p-o5", name="A", locale="en", opted_out=["push"], **both)
    )
    await add_passenger(
        redis, Passenger(passenger_id="p-o6", name="B", locale="en", opted_out=["push", "sms"], **both)
    )
    await outreach.on_incident(incident("o5", 1))
    await outreach.on_incident(incident("o6", 1))
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    assert [m["to"] for m in providers.sms] == ["+15550000005"] and providers.push == []
    case = await CaseStore(redis).get("o6:pickup_delay")
    assert case is not None and case.no_contact
    texts = [e.text for e in await CaseStore(redis).timeline("o6:pickup_delay")]
    assert any("no usable channel" in text for text in texts)


async def test_rejected_push_falls_back_to_sms(outreach_settings, redis, http, clock, providers) -> None:
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    providers.unregistered.add("stale-token")
    person = Passenger(
        passenger_id="p-o7", name="A", locale="en", phone="+15550000007", push_token="stale-token"
    )
    await add_passenger(redis, person)
    await outreach.on_incident(incident("o7", 1))
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    assert providers.push == [] and len(providers.sms) == 1
    message = await Outbox(redis, 1000).get("o7:pickup_delay:1:open")
    assert message is not None and message.status == "sent" and message.channel == "sms"
    assert [a.outcome for a in message.history] == ["rejected", "sent"]
    assert "UNREGISTERED" in message.history[0].detail


async def test_outage_retries_then_dead_letter_on_the_case(outreach_settings, redis, http, clock, providers):
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(
        redis, Passenger(passenger_id="p-o8", name="A", locale="en", phone="+15550000008", channels=["sms"])
    )
    await add_passenger(
        redis, Passenger(passenger_id="p-o9", name="B", locale="en", phone="+15550000009", channels=["sms"])
    )
    providers.fail["sms"] = [503, 500]  # a short outage: the third try goes through
    await outreach.on_incident(incident("o8", 1))
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    assert [m["to"] for m in providers.sms] == ["+15550000008"]
    providers.down.add("sms")  # a long one: every try fails
    await outreach.on_incident(incident("o9", 1))
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    message = await Outbox(redis, 1000).get("o9:pickup_delay:1:open")
    assert message is not None and message.status == "dead" and len(message.history) == 3
    assert await redis.zscore(names.OUTBOX_DEAD, message.message_id) is not None
    timeline = await CaseStore(redis).timeline("o9:pickup_delay")
    assert timeline[-1].what == "dead_letter" and "HTTP 503" in timeline[-1].text


async def test_slow_provider_does_not_hold_up_the_others(outreach_settings, redis, http, providers) -> None:
    update = {"outreach_group_wait_s": 0.0, "outreach_concurrency": 4, "outreach_http_timeout_s": 5.0}
    settings = outreach_settings.replace(**update)
    clock = wall_clock  # real time: the slow provider takes real seconds
    outreach, dispatcher = parts(settings, redis, http, clock)
    providers.delay_s["push"] = 1.5
    await add_passenger(
        redis, Passenger(passenger_id="p-s1", name="A", locale="en", push_token="t1", channels=["push"])
    )
    await add_passenger(
        redis, Passenger(passenger_id="p-s2", name="B", locale="en", phone="+15550000010", channels=["sms"])
    )
    await outreach.on_incident(incident("s1", 1))
    await outreach.on_incident(incident("s2", 1))
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    started = asyncio.get_running_loop().time()
    while not providers.sms:
        await asyncio.sleep(0.02)
    sms_after = asyncio.get_running_loop().time() - started
    while await dispatcher.outbox.pending():
        await asyncio.sleep(0.05)
    stop.set()
    await task
    assert sms_after < 1.0 and len(providers.push) == 1


async def test_budget_caps_messages_per_trip(outreach_settings, redis, http, clock, providers) -> None:
    settings = outreach_settings.replace(outreach_budget_per_trip=2)
    outreach, dispatcher = parts(settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-b1", name="A", locale="en", phone="+15550000011"))
    await outreach.on_incident(incident("b1", 1))
    clock.advance(31)
    await outreach.tick()
    for revision in range(2, 6):  # four ETA changes: each is news, only one fits the budget
        eta = clock.now + (5 + revision) * 60_000
        await outreach.on_incident(incident("b1", revision, details={"driver": DRIVER, "eta_pickup_ts": eta}))
    await drain(dispatcher, clock)
    assert len(providers.sms) == 2
    texts = [e.text for e in await CaseStore(redis).timeline("b1:pickup_delay")]
    assert sum("budget is spent" in text for text in texts) == 3


async def test_critical_messages_overtake_the_queue(outreach_settings, redis, http, clock, providers) -> None:
    settings = outreach_settings.replace(outreach_group_wait_s=0.0)
    outreach, dispatcher = parts(settings, redis, http, clock)
    for n in range(4):
        await add_passenger(
            redis, Passenger(passenger_id=f"p-q{n}", name="A", locale="en", phone=f"+1555000010{n}")
        )
        await outreach.on_incident(incident(f"q{n}", 1))
    await outreach.on_incident(incident("q3", 1, kind="sos", incident_id="q3:sos", severity="critical"))
    assert await dispatcher.run_once()
    assert providers.sms[0]["to"] == "+15550000103" and "SOS" in providers.sms[0]["body"]


async def test_provider_rate_limit_spreads_sends_over_seconds(
    outreach_settings, redis, http, providers
) -> None:
    update = {"outreach_group_wait_s": 0.0, "rate_twilio_per_s": 2, "outreach_concurrency": 4}
    settings = outreach_settings.replace(**update)
    outreach, dispatcher = parts(settings, redis, http, wall_clock)
    for n in range(5):
        person = Passenger(
            passenger_id=f"p-rl{n}", name="A", locale="en", phone=f"+1555000070{n}", channels=["sms"]
        )
        await add_passenger(redis, person)
        await outreach.on_incident(incident(f"rl{n}", 1))
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    started = time.monotonic()
    while len(providers.sms) < 5 and time.monotonic() - started < 10:
        await asyncio.sleep(0.02)
    elapsed = time.monotonic() - started
    stop.set()
    await task
    # 2 per second: five messages need three one-second windows, so at least one full second.
    assert len(providers.sms) == 5 and elapsed >= 1.0
    assert len({m["to"] for m in providers.sms}) == 5


async def test_every_case_change_is_exported_to_the_helpdesk(
    outreach_settings, redis, http, clock, providers
):
    settings = outreach_settings.model_copy(
        update={"helpdesk_webhook_url": providers.base + "/hooks/helpdesk"}
    )
    outreach, dispatcher = parts(settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-h1", name="A", locale="en", phone="+15550000801"))
    await outreach.on_incident(incident("h1", 1))
    await outreach.on_incident(incident("h1", 1))  # redelivered: no new case change
    await outreach.on_incident(incident("h1", 2, status="resolved"))
    await drain(dispatcher, clock)
    exports = [h for h in providers.hooks if h.get("type") == "case"]
    assert [h["delivery"] for h in exports] == ["case:h1:pickup_delay:v1", "case:h1:pickup_delay:v2"]
    assert [h["case"]["state"] for h in exports] == ["open", "resolved"]
    assert exports[0]["new_entries"][0]["what"] == "incident"


async def test_day_budget_spans_trips_and_cases_carry_their_sla(
    outreach_settings, redis, http, clock, providers
):
    settings = outreach_settings.model_copy(
        update={"outreach_budget_per_day": 2, "outreach_group_wait_s": 0.0}
    )
    outreach, dispatcher = parts(settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-day", name="A", locale="en", phone="+15550000901"))
    for order in ("d1", "d2", "d3"):  # three trips of one passenger on one day
        await outreach.on_incident(incident(order, 1, passenger_id="p-day"))
    await drain(dispatcher, clock)
    assert len(providers.sms) == 2
    texts = [e.text for e in await CaseStore(redis).timeline("d3:pickup_delay")]
    assert any("budget is spent" in text for text in texts)
    case = await CaseStore(redis).get("d1:pickup_delay")
    assert case is not None and case.sla_due_at == case.opened_at + settings.case_sla_medium_s * 1000
