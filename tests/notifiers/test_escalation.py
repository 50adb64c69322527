"""Safety: paging level by level, the check-in, and replies on Twilio's inbound webhook."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from core import names
from core.models import Passenger
from notifiers.cases import CaseStore
from notifiers.engine import escalate_due
from notifiers.inbound import INBOUND_PATH, create_app, twilio_signature
from notifiers.model import IncidentView
from tests.notifiers import fakes
from tests.notifiers.conftest import add_passenger
from tests.notifiers.test_outreach import drain, parts

LEVELS = f"{fakes.ROUTING_KEYS[0]}@60,{fakes.ROUTING_KEYS[1]}@120"


def sos(order: str, revision: int = 1, status: str = "open") -> IncidentView:
    return IncidentView(
        incident_id=f"{order}:sos",
        kind="sos",
        severity="critical",
        status=status,
        order_id=order,
        passenger_id=f"p-{order}",
        summary="SOS pressed",
        revision=revision,
    )


async def test_critical_incident_pages_and_escalates_until_acknowledged(
    outreach_settings, redis, http, clock, providers
) -> None:
    settings = outreach_settings.replace(escalation_levels=LEVELS, checkin_timeout_s=300.0)
    outreach, dispatcher = parts(settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-e1", name="Anna", locale="en", phone="+15550000201"))
    await outreach.on_incident(sos("e1"))
    await drain(dispatcher, clock)
    assert [(p["routing_key"], p["event_action"]) for p in providers.pages] == [
        (fakes.ROUTING_KEYS[0], "trigger")
    ]
    assert providers.pages[0]["dedup_key"] == "e1:sos:L0"
    assert "Reply 1 I'm OK" in providers.sms[0]["body"]  # the check-in went out at once, no group_wait
    clock.advance(61)
    assert await escalate_due(outreach) == 1
    await drain(dispatcher, clock)
    assert providers.pages[-1]["routing_key"] == fakes.ROUTING_KEYS[1]
    await CaseStore(redis).act("e1:sos", "acknowledge", "supervisor-1", clock())
    clock.advance(200)
    await escalate_due(outreach)
    await drain(dispatcher, clock)
    assert len(providers.pages) == 2
    await outreach.on_incident(sos("e1", 2, status="resolved"))
    await drain(dispatcher, clock)
    assert sorted(p["dedup_key"] for p in providers.pages if p["event_action"] == "resolve") == [
        "e1:sos:L0",
        "e1:sos:L1",
    ]


async def test_signed_reply_ok_stops_escalation_and_help_escalates(
    outreach_settings, redis, http, clock, providers
) -> None:
    settings = outreach_settings.replace(escalation_levels=LEVELS)
    outreach, dispatcher = parts(settings, redis, http, clock)
    for n in (2, 3):
        await add_passenger(
            redis, Passenger(passenger_id=f"p-e{n}", name="A", locale="en", phone=f"+1555000020{n}")
        )
        await outreach.on_incident(sos(f"e{n}"))
    await drain(dispatcher, clock)
    async with TestClient(TestServer(create_app(settings, outreach))) as client:
        url = str(client.make_url(INBOUND_PATH))
        forged = await client.post(INBOUND_PATH, data={"From": "+15550000202", "Body": "1"})
        assert forged.status == 403
        for phone, body in (("+15550000202", "1"), ("+15550000203", "HELP")):
            form = {"From": phone, "Body": body, "To": settings.twilio_from}
            signature = twilio_signature(settings.twilio_auth_token.get_secret_value(), url, form)
            reply = await client.post(INBOUND_PATH, data=form, headers={"X-Twilio-Signature": signature})
            assert reply.status == 200 and "<Response>" in await reply.text()
    texts = [e.text for e in await CaseStore(redis).timeline("e2:sos")]
    assert any("says they are OK" in text and "until a person acknowledges" in text for text in texts)
    await drain(dispatcher, clock)
    level_two = [p for p in providers.pages if p["routing_key"] == fakes.ROUTING_KEYS[1]]
    assert [p["dedup_key"] for p in level_two] == ["e3:sos:L1"]
    # "I'm OK" lowers nothing: nobody acknowledged e2, so its escalation goes on at level 1's deadline
    ok_case = await CaseStore(redis).get("e2:sos")
    assert (
        ok_case is not None
        and ok_case.passenger_ok_at
        and (ok_case.state, ok_case.severity) == ("open", "critical")
    )
    assert await redis.zscore(names.ESCALATIONS_DUE, "e2:sos") is not None
    clock.advance(300)
    await escalate_due(outreach)
    await drain(dispatcher, clock)
    assert "e2:sos:L1" in {p["dedup_key"] for p in providers.pages}


async def test_survey_after_resolution_closes_the_case_with_the_score(
    outreach_settings, redis, http, clock, providers
) -> None:
    from notifiers.inbound import handle_reply
    from tests.notifiers.test_outreach import incident

    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-v1", name="Anna", locale="ru", phone="+79990000601"))
    cancelled = {"kind": "driver_cancellation", "incident_id": "v1:driver_cancellation", "severity": "high"}
    await outreach.on_incident(incident("v1", 1, **cancelled))
    clock.advance(31)
    await outreach.tick()
    await outreach.on_incident(incident("v1", 2, status="resolved", **cancelled))
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    assert len(providers.sms) == 3 and "от 1 (плохо) до 5 (отлично)" in providers.sms[-1]["body"]
    assert await handle_reply(outreach, "+79990000601", " 5 ") == "survey"
    case = await CaseStore(redis).get("v1:driver_cancellation")
    assert case is not None and (case.survey_score, case.state) == (5, "closed")


async def test_a_late_check_in_reply_is_not_taken_as_a_survey_score(
    outreach_settings, redis, http, clock, providers
) -> None:
    from notifiers.inbound import handle_reply

    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-e9", name="A", locale="en", phone="+15550000209"))
    await outreach.on_incident(sos("e9"))
    await outreach.on_incident(sos("e9", 2, status="resolved"))
    await drain(dispatcher, clock)
    assert await handle_reply(outreach, "+15550000209", "1") == "ok"
    case = await CaseStore(redis).get("e9:sos")
    assert case is not None and case.survey_score is None and case.state == "resolved"


async def test_unanswered_check_in_escalates_and_app_action_is_taken(
    outreach_settings, redis, http, clock, providers
) -> None:
    import time

    import orjson

    from notifiers.inbound import APP_CHECKIN_PATH
    from notifiers.webhook import sign

    settings = outreach_settings.replace(escalation_levels=LEVELS, checkin_timeout_s=10.0)
    outreach, dispatcher = parts(settings, redis, http, clock)
    person = Passenger(
        passenger_id="p-e5", name="A", locale="zh", phone="+8613800000005", push_token="tok-e5"
    )
    await add_passenger(redis, person)
    await outreach.on_incident(sos("e5"))
    await drain(dispatcher, clock)
    assert providers.push[0]["data"]["checkin_choices"] == "ok,help,report,share"
    assert "我没事" in providers.push[0]["notification"]["body"]  # a button: push asks for no SMS reply
    assert "回复" not in providers.push[0]["notification"]["body"]
    clock.advance(11)  # no answer within the check-in timeout, well before level 1's 60 s
    assert await escalate_due(outreach) == 1
    await drain(dispatcher, clock)
    assert [p["routing_key"] for p in providers.pages] == [fakes.ROUTING_KEYS[0], fakes.ROUTING_KEYS[1]]
    async with TestClient(TestServer(create_app(settings, outreach))) as client:
        body = orjson.dumps({"incident_id": "e5:sos", "choice": "help"})
        now = int(time.time())
        headers = {"X-Tripwatch-Timestamp": str(now), "X-Tripwatch-Signature": sign("wrong", now, body)}
        assert (await client.post(APP_CHECKIN_PATH, data=body, headers=headers)).status == 403
        headers["X-Tripwatch-Signature"] = sign(settings.webhook_secret.get_secret_value(), now, body)
        reply = await client.post(APP_CHECKIN_PATH, data=body, headers=headers)
        assert reply.status == 200 and (await reply.json())["taken_as"] == "help"
    timeline = [e.text for e in await CaseStore(redis).timeline("e5:sos")]
    assert any("emergency protocol" in text for text in timeline)  # help past the last level


async def test_acknowledging_on_the_board_acknowledges_every_page_once(
    outreach_settings, redis, http, clock, providers
) -> None:
    settings = outreach_settings.replace(escalation_levels=LEVELS)
    outreach, dispatcher = parts(settings, redis, http, clock)
    await outreach.on_incident(sos("e9"))
    clock.advance(61)
    assert await escalate_due(outreach) == 1  # level 2 paged too
    await drain(dispatcher, clock)
    await outreach.on_incident(sos("e9", 2, status="acknowledged"))
    await outreach.on_incident(sos("e9", 2, status="acknowledged"))  # a redelivered revision
    await outreach.on_incident(sos("e9", 3, status="acknowledged"))  # a later one, still acknowledged
    await drain(dispatcher, clock)
    acks = [(p["routing_key"], p["dedup_key"]) for p in providers.pages if p["event_action"] == "acknowledge"]
    assert sorted(acks) == [(fakes.ROUTING_KEYS[0], "e9:sos:L0"), (fakes.ROUTING_KEYS[1], "e9:sos:L1")]
    timeline = [entry.text for entry in await CaseStore(redis).timeline("e9:sos")]
    assert timeline.count("case acknowledged: 2 page(s) acknowledged in PagerDuty") == 1
    await outreach.on_incident(sos("e9", 4, status="resolved"))
    await drain(dispatcher, clock)
    assert sorted(p["dedup_key"] for p in providers.pages if p["event_action"] == "resolve") == [
        "e9:sos:L0",
        "e9:sos:L1",
    ]
