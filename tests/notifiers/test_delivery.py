"""Delivery results: a slow answer is unknown (asked, not resent), Twilio's receipts land on the
case, and the helpdesk export carries delivery results and dead letters."""

from __future__ import annotations

import time
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from core.models import Passenger
from notifiers.cases import CaseStore
from notifiers.inbound import create_app, twilio_signature
from notifiers.outbox import Outbox
from notifiers.reads import shift_counts
from notifiers.twilio import STATUS_PATH
from tests.notifiers.conftest import Clock, add_passenger
from tests.notifiers.test_outreach import drain, incident, parts

PUBLIC_URL = "https://tripwatch.example"


async def test_a_slow_twilio_is_asked_and_the_sms_is_not_sent_twice(
    outreach_settings, redis, http, providers
) -> None:
    clock = Clock(int(time.time() * 1000))  # Twilio's log and our lookup agree on the date
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-dl1", name="A", locale="en", phone="+15550007001"))
    providers.delay_s["sms"] = 1.5  # the settings' timeout is 1 s
    await outreach.on_incident(incident("dl1", 1))
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    assert len(providers.sms) == 1
    message = await Outbox(redis, 1000).get("dl1:pickup_delay:1:open")
    assert message is not None and message.status == "sent"
    assert [a.outcome for a in message.history] == ["unknown", "reconciled"]


async def test_a_message_that_may_have_gone_out_is_never_a_dead_letter(
    outreach_settings, redis, http, clock, providers
) -> None:
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(
        redis,
        Passenger(
            passenger_id="p-dl2",
            name="A",
            locale="en",
            push_token="tok-dl2",
            channels=["push", "sms"],
            phone="+15550007002",
        ),
    )
    providers.delay_s["push"] = 1.5
    await outreach.on_incident(incident("dl2", 1))
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    assert len(providers.push) == 3 and len(providers.shown_on("tok-dl2")) == 1  # collapsed on the device
    assert providers.sms == []  # not a second copy by SMS for a non-safety message
    message = await Outbox(redis, 1000).get("dl2:pickup_delay:1:open")
    assert message is not None and message.status == "unknown"
    texts = [e.text for e in await CaseStore(redis).timeline("dl2:pickup_delay")]
    assert sum("delivery unknown" in t for t in texts) == 1 and not any("not delivered" in t for t in texts)
    counts = await shift_counts(redis, 0)
    assert (counts["failed"], counts["unknown"]) == (0, 1)


async def post_receipt(client: TestClient, form: dict[str, str], token: str, signed: bool = True) -> int:
    signature = twilio_signature(token, PUBLIC_URL + STATUS_PATH, form) if signed else "forged"
    reply = await client.post(STATUS_PATH, data=form, headers={"X-Twilio-Signature": signature})
    return reply.status


async def test_twilio_receipts_are_recorded_on_the_case_once(
    outreach_settings, redis, http, clock, providers
) -> None:
    settings = outreach_settings.replace(outreach_public_url=PUBLIC_URL, outreach_group_wait_s=0.0)
    outreach, dispatcher = parts(settings, redis, http, clock)
    for n in (3, 4):
        await add_passenger(
            redis, Passenger(passenger_id=f"p-dl{n}", name="A", locale="en", phone=f"+1555000700{n}")
        )
        await outreach.on_incident(incident(f"dl{n}", 1))
    await drain(dispatcher, clock)
    sids = {m["to"]: m["sid"] for m in providers.sms}
    assert set(providers.status_callbacks.values()) == {PUBLIC_URL + STATUS_PATH}
    token = settings.twilio_auth_token.get_secret_value()
    delivered = {"MessageSid": sids["+15550007003"], "MessageStatus": "delivered", "To": "+15550007003"}
    undelivered = {"MessageSid": sids["+15550007004"], "MessageStatus": "undelivered", "ErrorCode": "30003"}
    async with TestClient(TestServer(create_app(settings, outreach))) as client:
        assert await post_receipt(client, delivered, token, signed=False) == 403
        for form in (delivered, delivered, undelivered, {**delivered, "MessageStatus": "sent"}):
            assert await post_receipt(client, form, token) == 200
    receipts = [e for e in await CaseStore(redis).timeline("dl3:pickup_delay") if e.what == "receipt"]
    assert [e.text for e in receipts] == ["open message delivered to the phone"]  # once, final statuses only
    failed = [e for e in await CaseStore(redis).timeline("dl4:pickup_delay") if e.what == "receipt"]
    assert failed[0].text == "open message undelivered to the phone (Twilio error 30003)"
    message = await Outbox(redis, 1000).get("dl4:pickup_delay:1:open")
    assert message is not None and message.receipt == "undelivered"


def deliveries(providers: Any) -> list[dict[str, Any]]:
    return [h for h in providers.hooks if h.get("type") == "delivery"]


async def test_the_helpdesk_export_carries_delivery_results_and_dead_letters(
    outreach_settings, redis, http, clock, providers
) -> None:
    settings = outreach_settings.replace(
        helpdesk_webhook_url=providers.base + "/hooks/helpdesk", outreach_group_wait_s=0.0
    )
    outreach, dispatcher = parts(settings, redis, http, clock)
    for n in (5, 6):
        person = Passenger(
            passenger_id=f"p-dl{n}", name="A", locale="en", phone=f"+1555000700{n}", channels=["sms"]
        )
        await add_passenger(redis, person)
    await outreach.on_incident(incident("dl5", 1))
    await drain(dispatcher, clock)
    providers.down.add("sms")
    await outreach.on_incident(incident("dl6", 1))
    await drain(dispatcher, clock)
    providers.down.clear()
    await drain(dispatcher, clock)  # the exports themselves go out
    found = {(d["case_id"], d["status"]) for d in deliveries(providers)}
    assert found == {("dl5:pickup_delay", "sent"), ("dl6:pickup_delay", "dead")}
    dead = next(d for d in deliveries(providers) if d["status"] == "dead")
    assert dead["entry"]["what"] == "dead_letter" and "HTTP 503" in dead["entry"]["text"]
