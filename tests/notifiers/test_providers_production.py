"""Providers as they run in production, against the local fakes: FCM's service-account token
and its refresh, ttl and priority on the wire, Twilio's ValidityPeriod, STOP/START and redelivered
replies, PagerDuty's full payload and its Retry-After, the closing push replacing the opening."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import _helpers

from core import names
from core.models import Passenger
from notifiers.cases import CaseStore
from notifiers.fcm import FcmNotifier
from notifiers.inbound import INBOUND_PATH, create_app, twilio_signature
from notifiers.model import IncidentView
from notifiers.twilio import TwilioNotifier
from tests.notifiers import fakes
from tests.notifiers.conftest import add_passenger
from tests.notifiers.test_outreach import drain, incident, parts
from tests.notifiers.test_providers import message

EMAIL = "tripwatch-push@tripwatch-test.iam.gserviceaccount.com"


def service_account_file(tmp_path: Path, providers: fakes.Providers) -> str:
    """A throwaway key, as Google's console would download it, whose token_uri is the fake."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    providers.service_account_keys[EMAIL] = key.public_key()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": fakes.FCM_PROJECT,
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": EMAIL,
        "client_id": "1",
        "token_uri": providers.base + "/token",
    }
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(info))
    return str(path)


async def test_fcm_token_from_a_service_account_is_reused_then_refreshed_before_expiry(
    outreach_settings, http, providers, tmp_path
) -> None:
    settings = outreach_settings.replace(
        fcm_access_token="", fcm_service_account_file=service_account_file(tmp_path, providers)
    )
    threshold = _helpers.REFRESH_THRESHOLD.total_seconds()
    providers.token_lifetime_s = int(threshold) + 2  # usable for ~2 s, then google-auth refreshes
    fcm = FcmNotifier(settings, http)
    assert not fcm.missing_options()
    assert (await fcm.send(message("push", "tok-sa"))).outcome == "sent"
    assert (await fcm.send(message("push", "tok-sa"))).outcome == "sent"
    assert len(providers.token_requests) == 1  # one token for both
    claims = providers.token_requests[0]
    assert claims["iss"] == EMAIL and "firebase.messaging" in claims["scope"]
    first = providers.push_auth[0]
    assert first.startswith("ya29.issued-") and providers.push_auth == [first, first]
    await asyncio.sleep(2.5)  # wall-clock: the token is now inside google-auth's refresh threshold
    assert (await fcm.send(message("push", "tok-sa"))).outcome == "sent"
    assert len(providers.token_requests) == 2 and providers.push_auth[-1] != first
    assert providers.issued[first] > time.time()  # refreshed while the old one was still good

    providers.issued.pop(providers.push_auth[-1])  # revoked at Google: FCM answers 401
    revoked = await fcm.send(message("push", "tok-sa"))
    assert revoked.outcome == "retry" and "401" in revoked.detail
    assert (await fcm.send(message("push", "tok-sa"))).outcome == "sent"
    assert len(providers.token_requests) == 3


async def test_fcm_without_a_token_endpoint_retries_and_without_any_credential_is_not_configured(
    outreach_settings, http, providers, tmp_path
) -> None:
    key_file = service_account_file(tmp_path, providers)
    providers.service_account_keys.clear()  # the fake refuses the key: invalid_grant
    settings = outreach_settings.replace(fcm_access_token="", fcm_service_account_file=key_file)
    result = await FcmNotifier(settings, http).send(message("push", "tok-x"))
    assert result.outcome == "retry" and "no FCM access token" in result.detail and not providers.push
    neither = outreach_settings.replace(fcm_access_token="", fcm_service_account_file="")
    assert FcmNotifier(neither, http).missing_options() == ["fcm_service_account_file|fcm_access_token"]


async def test_push_ttl_and_priority_follow_the_incident(outreach_settings, http, providers) -> None:
    fcm = FcmNotifier(outreach_settings, http)
    now_s = int(time.time())
    created = now_s * 1000
    pickup = message("push", "tok-1", severity="high", kind="pickup_delay", created_at=created)
    route = message("push", "tok-2", severity="medium", kind="route_deviation", created_at=created)
    sos = message("push", "tok-3", severity="critical", kind="sos", priority="critical", created_at=created)
    survey = message("push", "tok-4", severity="critical", kind="sos", step="survey", created_at=created)
    for each in (pickup, route, sos, survey):
        assert (await fcm.send(each)).outcome == "sent"
    wire = {m["token"]: m for m in providers.push}
    expected = {"tok-1": ("high", 900, "10"), "tok-2": ("normal", 1800, "5"), "tok-3": ("high", 300, "10"),
                "tok-4": ("normal", 3600, "5")}  # fmt: skip
    for token, (priority, ttl, apns_priority) in expected.items():
        android, headers = wire[token]["android"], wire[token]["apns"]["headers"]
        assert android["priority"] == priority and headers["apns-priority"] == apns_priority, token
        assert android["ttl"] in (f"{ttl}s", f"{ttl - 1}s"), token
        assert now_s + ttl - 2 <= int(headers["apns-expiration"]) <= now_s + ttl + 2, token
    # a push that waited in our outbox keeps only what is left of its life
    late = message("push", "tok-5", severity="high", kind="pickup_delay", created_at=created - 600_000)
    await fcm.send(late)
    assert providers.push[-1]["android"]["ttl"] in ("300s", "299s")


async def test_sms_validity_period_per_severity(outreach_settings, http, providers) -> None:
    twilio = TwilioNotifier(outreach_settings, http)
    now = int(time.time() * 1000)
    await twilio.send(message("sms", "+15550000401", severity="critical", created_at=now))
    await twilio.send(message("sms", "+15550000402", severity="medium", created_at=now))
    validity = {m["to"]: int(m["validity_period"]) for m in providers.sms}
    assert validity["+15550000401"] in (299, 300) and validity["+15550000402"] in (1799, 1800)


async def test_time_critical_pushes_from_the_engine_and_the_closing_push_replaces_the_alert(
    outreach_settings, redis, http, clock, providers
) -> None:
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-t1", name="Anna", locale="en", push_token="tok-t1"))
    sos = IncidentView(incident_id="t1:sos", kind="sos", severity="critical", status="open", order_id="t1",
                       passenger_id="p-t1", summary="SOS pressed")  # fmt: skip
    await outreach.on_incident(sos)
    await drain(dispatcher, clock)
    opening = providers.push[-1]
    assert opening["notification"]["title"] == "SOS received" and opening["android"]["priority"] == "high"
    assert opening["android"]["ttl"] == "300s"
    await outreach.on_incident(IncidentView(**{**_fields(sos), "status": "resolved", "revision": 2}))
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    closing = providers.push[-1]
    assert closing["data"]["step"] == "close" and closing["notification"]["title"] == "Alert closed"
    assert closing["android"]["notification"]["tag"] == opening["android"]["notification"]["tag"]
    assert closing["apns"]["headers"]["apns-collapse-id"] == opening["apns"]["headers"]["apns-collapse-id"]
    assert [n["notification"]["title"] for n in providers.shown_on("tok-t1")] == ["Alert closed"]
    # a pickup delay is time-critical too, though not critical
    await add_passenger(redis, Passenger(passenger_id="p-t2", name="Bo", locale="en", push_token="tok-t2"))
    await outreach.on_incident(incident("t2", 1, severity="high"))
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    late = providers.push[-1]
    assert (
        late["token"] == "tok-t2"
        and late["android"]["priority"] == "high"
        and late["android"]["ttl"] == "900s"
    )


def _fields(view: IncidentView) -> dict[str, object]:
    return {name: getattr(view, name) for name in view.__struct_fields__}


async def post_sms(client: TestClient, settings, form: dict[str, str]) -> int:
    url = str(client.make_url(INBOUND_PATH))
    signature = twilio_signature(settings.twilio_auth_token.get_secret_value(), url, form)
    reply = await client.post(INBOUND_PATH, data=form, headers={"X-Twilio-Signature": signature})
    return reply.status


async def test_stop_turns_sms_off_for_the_number_and_start_back_on(
    outreach_settings, redis, http, clock, providers
) -> None:
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    phone = "+15550000501"
    person = Passenger(passenger_id="p-s1", name="Anna", locale="en", phone=phone, push_token="tok-s1",
                       channels=["sms", "push"])  # fmt: skip
    await add_passenger(redis, person)
    async with TestClient(TestServer(create_app(outreach_settings, outreach))) as client:
        assert (
            await post_sms(client, outreach_settings, {"From": phone, "Body": " Stop ", "MessageSid": "SM1"})
            == 200
        )
        providers.blocked.add(phone)  # Twilio blocks the number too (Advanced Opt-Out)
        assert await redis.exists(names.SMS_OPT_OUT + phone)
        await outreach.on_incident(incident("s1", 1))
        clock.advance(31)
        await outreach.tick()
        await drain(dispatcher, clock)
        assert not providers.sms and [m["token"] for m in providers.push] == ["tok-s1"]  # push, not SMS
        for word in ("UNSUBSCRIBE", "cancel", "Quit", "STOPALL", "end"):
            assert (await _inbound(outreach, phone, word)) == "opted_out"
        assert (
            await post_sms(client, outreach_settings, {"From": phone, "Body": "START", "MessageSid": "SM2"})
            == 200
        )
        providers.blocked.discard(phone)
        assert not await redis.exists(names.SMS_OPT_OUT + phone)
        await outreach.on_incident(incident("s2", 1, passenger_id="p-s1"))
        clock.advance(31)
        await outreach.tick()
        await drain(dispatcher, clock)
        assert [m["to"] for m in providers.sms] == [phone]  # SMS again, first in their order
    for word, expected in (("YES", "opted_in"), ("unstop", "opted_in"), ("info", "help")):
        assert (await _inbound(outreach, phone, word)) == expected


async def _inbound(outreach, phone: str, text: str) -> str:
    from notifiers.inbound import handle_inbound

    return await handle_inbound(outreach, phone, text)


async def test_a_redelivered_reply_changes_nothing(outreach_settings, redis, http, clock, providers) -> None:
    settings = outreach_settings.replace(
        escalation_levels=f"{fakes.ROUTING_KEYS[0]}@60,{fakes.ROUTING_KEYS[1]}@120"
    )
    outreach, dispatcher = parts(settings, redis, http, clock)
    phone = "+15550000601"
    await add_passenger(redis, Passenger(passenger_id="p-r1", name="A", locale="en", phone=phone))
    sos = IncidentView(incident_id="r1:sos", kind="sos", severity="critical", status="open", order_id="r1",
                       passenger_id="p-r1", summary="SOS pressed")  # fmt: skip
    await outreach.on_incident(sos)
    await drain(dispatcher, clock)
    async with TestClient(TestServer(create_app(settings, outreach))) as client:
        form = {"From": phone, "Body": "2", "MessageSid": "SMdup"}
        for _ in range(3):  # Twilio retried the webhook twice
            assert await post_sms(client, settings, form) == 200
    await drain(dispatcher, clock)
    level_two = [p for p in providers.pages if p["routing_key"] == fakes.ROUTING_KEYS[1]]
    assert len(level_two) == 1
    replies = [e for e in await CaseStore(redis).timeline("r1:sos") if e.what == "reply"]
    assert len(replies) == 1


async def test_pagerduty_payload_is_complete(outreach_settings, redis, http, clock, providers) -> None:
    settings = outreach_settings.replace(
        escalation_levels=f"{fakes.ROUTING_KEYS[0]}@60", board_public_url="https://board.example/"
    )
    outreach, dispatcher = parts(settings, redis, http, clock)
    sos = IncidentView(incident_id="pd1:sos", kind="sos", severity="critical", status="open", order_id="pd1",
                       rule_id="sos-pressed", city="berlin", summary="SOS pressed",
                       detected_at=1_800_000_000_123)  # fmt: skip
    await outreach.on_incident(sos)
    await drain(dispatcher, clock)
    page = providers.pages[0]
    payload = page["payload"]
    assert payload["timestamp"] == "2027-01-15T08:00:00.123Z"
    assert (payload["component"], payload["group"], payload["class"]) == ("sos-pressed", "berlin", "sos")
    assert page["links"] == [{"href": "https://board.example/trips/pd1", "text": "Trip pd1 on the board"}]


async def test_pagerduty_retry_after_is_honoured(outreach_settings, redis, http, clock, providers) -> None:
    settings = outreach_settings.replace(
        escalation_levels=f"{fakes.ROUTING_KEYS[0]}@600", outreach_retry_max_s=120.0
    )
    outreach, dispatcher = parts(settings, redis, http, clock)
    providers.fail["pagerduty"] = [429]
    providers.retry_after["pagerduty"] = "30"
    sos = IncidentView(incident_id="ra1:sos", kind="sos", severity="critical", status="open", order_id="ra1",
                       summary="SOS pressed")  # fmt: skip
    await outreach.on_incident(sos)
    refused_at = clock()
    while await dispatcher.run_once():
        pass
    assert providers.pages == []
    [(page_id, due)] = await redis.zrange(names.OUTBOX_CRITICAL, 0, -1, withscores=True)
    assert b":L0:trigger" in page_id
    assert due is not None and due >= refused_at + 30_000  # the backoff alone would be 50-100 ms
    clock.advance(29)
    while await dispatcher.run_once():
        pass
    assert providers.pages == []
    clock.advance(1.5)
    while await dispatcher.run_once():
        pass
    assert [p["dedup_key"] for p in providers.pages] == ["ra1:sos:L0"]
