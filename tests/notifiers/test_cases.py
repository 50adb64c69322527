"""Cases: every change reaches the helpdesk once; surveys; the auto-close of resolved cases.

Real Redis, the engine and the dispatcher as plain calls, the signed-webhook fake as the
helpdesk (it verifies the HMAC), a hand-driven clock.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core import names
from core.models import Passenger
from core.settings import Settings
from notifiers.cases import CaseStore, on_incident, queue_case
from notifiers.inbound import handle_reply
from notifiers.model import IncidentView
from tests.notifiers import fakes
from tests.notifiers.conftest import add_passenger
from tests.notifiers.test_outreach import drain, incident, parts

CANCELLED = {"kind": "driver_cancellation", "severity": "high"}  # surveyed by the default policy


def helpdesk_settings(settings: Settings, providers: fakes.Providers, **extra: Any) -> Settings:
    return settings.replace(helpdesk_webhook_url=providers.base + "/hooks/helpdesk", **extra)


def exports(providers: fakes.Providers) -> list[dict[str, Any]]:
    return [hook for hook in providers.hooks if hook.get("type") == "case"]


def cancellation(order: str, revision: int, status: str = "open") -> IncidentView:
    return incident(order, revision, status, incident_id=f"{order}:driver_cancellation", **CANCELLED)


async def scheduled(redis, case_id: str) -> dict[str, float | None]:
    zsets = (names.CASES_RESOLVED, names.CASES_SURVEY_WAIT)
    return {zset: await redis.zscore(zset, case_id) for zset in zsets}


async def surveyed_case(outreach, dispatcher, redis, clock, order: str, phone: str) -> str:
    """A cancellation told, resolved, its closing message and survey sent; returns the case id."""
    await add_passenger(redis, Passenger(passenger_id=f"p-{order}", name="Anna", locale="en", phone=phone))
    await outreach.on_incident(cancellation(order, 1))
    clock.advance(31)
    await outreach.tick()
    await outreach.on_incident(cancellation(order, 2, "resolved"))
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    return f"{order}:driver_cancellation"


async def test_a_supervisor_action_is_exported_once_with_its_version(
    outreach_settings, redis, http, clock, providers
) -> None:
    settings = helpdesk_settings(outreach_settings, providers)
    outreach, dispatcher = parts(settings, redis, http, clock)
    store = CaseStore(redis, settings)
    await outreach.on_incident(incident("a1", 1))
    acked = await store.act("a1:pickup_delay", "acknowledge", "sup-1", clock())
    again = await store.act("a1:pickup_delay", "acknowledge", "sup-1", clock())  # a retried call
    await drain(dispatcher, clock)
    assert (acked.state, acked.version, again.version) == ("acknowledged", 2, 2)
    sent = exports(providers)
    assert [hook["delivery"] for hook in sent] == ["case:a1:pickup_delay:v1", "case:a1:pickup_delay:v2"]
    assert sent[1]["case"]["state"] == "acknowledged" and sent[1]["case"]["acknowledged_by"] == "sup-1"
    assert [entry["text"] for entry in sent[1]["new_entries"]] == ["acknowledge by sup-1"]
    timeline = [entry.text for entry in await store.timeline("a1:pickup_delay")]
    assert timeline.count("acknowledge by sup-1") == 1
    await store.act("a1:pickup_delay", "note", "sup-1", clock(), note="called the driver")
    await drain(dispatcher, clock)
    assert exports(providers)[-1]["delivery"] == "case:a1:pickup_delay:v3"
    assert exports(providers)[-1]["new_entries"][0]["text"] == "note by sup-1: called the driver"
    with pytest.raises(ValueError):
        await store.act("a1:pickup_delay", "escalate", "sup-1", clock())
    with pytest.raises(KeyError):
        await store.act("nope:pickup_delay", "note", "sup-1", clock())


async def test_concurrent_changes_are_neither_lost_nor_exported_twice(
    outreach_settings, redis, http, clock, providers
) -> None:
    settings = helpdesk_settings(outreach_settings, providers)
    outreach, dispatcher = parts(settings, redis, http, clock)
    store = CaseStore(redis, settings)
    await outreach.on_incident(incident("c1", 1))
    await asyncio.gather(
        *(store.act("c1:pickup_delay", "note", f"sup-{n}", clock(), note="checking") for n in range(6))
    )
    await drain(dispatcher, clock)
    case = await store.get("c1:pickup_delay")
    assert case is not None and case.version == 7
    notes = [entry.text for entry in await store.timeline("c1:pickup_delay") if entry.what == "action"]
    assert sorted(notes) == [f"note by sup-{n}: checking" for n in range(6)]
    deliveries = [hook["delivery"] for hook in exports(providers)]
    assert sorted(deliveries) == sorted(f"case:c1:pickup_delay:v{v}" for v in range(1, 8))


async def test_a_survey_answer_is_exported_and_a_second_one_is_only_noted(
    outreach_settings, redis, http, clock, providers
) -> None:
    settings = helpdesk_settings(outreach_settings, providers)
    outreach, dispatcher = parts(settings, redis, http, clock)
    case_id = await surveyed_case(outreach, dispatcher, redis, clock, "s1", "+15550000301")
    asked = exports(providers)[-1]["case"]
    assert asked["survey_requested"] and asked["survey_requested_at"] == clock()  # the request, exported
    assert await handle_reply(outreach, "+15550000301", "4") == "survey"
    assert await handle_reply(outreach, "+15550000301", "1") == "survey"
    await drain(dispatcher, clock)
    case = await CaseStore(redis).get(case_id)
    assert case is not None and (case.state, case.survey_score) == ("closed", 4)
    answered, again = exports(providers)[-2:]
    assert answered["case"]["survey_score"] == 4 and answered["case"]["state"] == "closed"
    assert [e["text"] for e in answered["new_entries"]] == [
        "satisfaction score 4/5",
        "closed: the passenger answered the survey",
    ]
    assert again["case"]["survey_score"] == 4 and "answer 1/5 not kept" in again["new_entries"][0]["text"]
    deliveries = [hook["delivery"] for hook in exports(providers)]
    assert len(deliveries) == len(set(deliveries)) and deliveries[-1] == f"case:{case_id}:v{case.version}"
    assert await scheduled(redis, case_id) == {names.CASES_RESOLVED: None, names.CASES_SURVEY_WAIT: None}


async def test_a_resolved_case_without_survey_closes_itself_once(
    outreach_settings, redis, http, clock, providers
) -> None:
    settings = helpdesk_settings(outreach_settings, providers, case_autoclose_s=3600)
    outreach, dispatcher = parts(settings, redis, http, clock)
    store = CaseStore(redis, settings)
    await outreach.on_incident(incident("q1", 1))
    await outreach.on_incident(incident("q1", 2, "resolved"))
    resolved_at = clock()
    assert await scheduled(redis, "q1:pickup_delay") == {
        names.CASES_RESOLVED: resolved_at,
        names.CASES_SURVEY_WAIT: None,
    }
    clock.advance(3599)
    assert await store.close_due(clock()) == 0
    clock.advance(1)
    assert await store.close_due(clock()) == 1
    assert await store.close_due(clock()) == 0  # a replayed tick
    case = await store.get("q1:pickup_delay")
    assert case is not None and (case.state, case.closed_at) == ("closed", clock())
    timeline = await store.timeline("q1:pickup_delay")
    assert timeline[-1].text == "closed: resolved 1h ago, no survey asked"
    await drain(dispatcher, clock)
    closed = [hook for hook in exports(providers) if hook["case"]["state"] == "closed"]
    assert len(closed) == 1 and closed[0]["new_entries"][0]["text"] == timeline[-1].text
    assert await scheduled(redis, "q1:pickup_delay") == {
        names.CASES_RESOLVED: None,
        names.CASES_SURVEY_WAIT: None,
    }


async def test_an_unanswered_survey_closes_the_case_after_the_survey_window(
    outreach_settings, redis, http, clock, providers
) -> None:
    settings = helpdesk_settings(outreach_settings, providers, case_autoclose_s=60, case_survey_window_s=600)
    outreach, dispatcher = parts(settings, redis, http, clock)
    store = CaseStore(redis, settings)
    case_id = await surveyed_case(outreach, dispatcher, redis, clock, "s2", "+15550000302")
    asked_at = clock()  # 31 s after the resolution: the window counts from the survey
    assert await scheduled(redis, case_id) == {names.CASES_RESOLVED: None, names.CASES_SURVEY_WAIT: asked_at}
    clock.advance(599)
    assert await store.close_due(clock()) == 0  # past case_autoclose_s, and past 600 s after resolution
    clock.advance(1)
    assert await store.close_due(clock()) == 1
    timeline = await store.timeline(case_id)
    assert timeline[-1].text == "closed: no survey answer within 10m"
    assert await handle_reply(outreach, "+15550000302", "5") == "survey"  # a late answer is still kept
    case = await store.get(case_id)
    assert case is not None and (case.state, case.survey_score) == ("closed", 5)


async def test_a_reopened_case_is_not_closed(outreach_settings, redis, http, clock, providers) -> None:
    settings = helpdesk_settings(outreach_settings, providers, case_autoclose_s=60)
    outreach, _ = parts(settings, redis, http, clock)
    store = CaseStore(redis, settings)
    await outreach.on_incident(incident("r1", 1))
    await outreach.on_incident(incident("r1", 2, "resolved"))
    clock.advance(30)
    await outreach.on_incident(incident("r1", 3))  # the incident flapped back open
    assert await scheduled(redis, "r1:pickup_delay") == {
        names.CASES_RESOLVED: None,
        names.CASES_SURVEY_WAIT: None,
    }
    case = await store.get("r1:pickup_delay")
    assert case is not None
    await redis.zadd(names.CASES_RESOLVED, {"r1:pickup_delay": clock() - 3_600_000})  # a stale entry
    clock.advance(3600)
    assert await store.close_due(clock()) == 0
    after = await store.get("r1:pickup_delay")
    assert after == case and after.state == "open"
    assert await redis.zscore(names.CASES_RESOLVED, "r1:pickup_delay") is None  # tidied away


async def test_a_supervisor_resolution_is_scheduled_and_no_url_exports_nothing(
    outreach_settings, redis, clock
) -> None:
    settings = outreach_settings.replace(case_autoclose_s=60)  # no helpdesk URL
    store = CaseStore(redis, settings)
    async with redis.pipeline(transaction=True) as pipe:
        queue_case(pipe, on_incident(None, incident("m1", 1), clock(), settings))
        await pipe.execute()
    await store.act("m1:pickup_delay", "resolve", "sup-1", clock())
    clock.advance(50)
    await store.act("m1:pickup_delay", "note", "sup-1", clock())  # keeps the resolution time
    clock.advance(9)
    assert await store.close_due(clock()) == 0
    clock.advance(1)
    assert await store.close_due(clock()) == 1
    case = await store.get("m1:pickup_delay")
    assert case is not None and (case.state, case.version) == ("closed", 4)
    assert await redis.zcard(names.OUTBOX_NORMAL) == 0


async def test_the_outreach_tick_loop_closes_due_cases(
    outreach_settings, redis, http, clock, providers
) -> None:
    from notifiers.process import _ticks

    settings = outreach_settings.replace(case_autoclose_s=60, outreach_tick_s=0.02)
    outreach, _ = parts(settings, redis, http, clock)
    await outreach.on_incident(incident("t1", 1))
    await outreach.on_incident(incident("t1", 2, "resolved"))
    clock.advance(61)
    stop = asyncio.Event()
    loop = asyncio.create_task(_ticks(settings, outreach, stop))
    try:
        for _ in range(100):
            case = await CaseStore(redis).get("t1:pickup_delay")
            if case is not None and case.state == "closed":
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(loop, 5)
    assert case is not None and case.state == "closed"


async def test_an_escalation_step_is_exported_with_its_page(
    outreach_settings, redis, http, clock, providers
) -> None:
    from notifiers.engine import escalate_due
    from tests.notifiers.test_escalation import LEVELS, sos

    settings = helpdesk_settings(
        outreach_settings, providers, escalation_levels=LEVELS, checkin_timeout_s=300.0
    )
    outreach, dispatcher = parts(settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-x1", name="Anna", locale="en", phone="+15550000291"))
    await outreach.on_incident(sos("x1"))
    await drain(dispatcher, clock)
    before = len(exports(providers))
    clock.advance(61)
    assert await escalate_due(outreach) == 1
    await drain(dispatcher, clock)
    sent = exports(providers)[before:]
    assert len(sent) == 1
    assert sent[0]["case"]["escalation_level"] == 1
    assert any("escalated to level 2" in entry["text"] for entry in sent[0]["new_entries"])
