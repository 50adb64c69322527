"""Each provider against its local fake: wire format, auth, and how errors are classified."""

from __future__ import annotations

import time

from notifiers.fcm import FcmNotifier
from notifiers.model import OutboundMessage
from notifiers.pagerduty import PagerDutyNotifier, page_event
from notifiers.twilio import TwilioNotifier
from notifiers.webhook import WebhookNotifier, sign, verify


def message(channel: str, recipient: str, **extra: object) -> OutboundMessage:
    values = {
        "message_id": "o1:pickup_delay:1:open",
        "incident_id": "o1:pickup_delay",
        "case_id": None,
        "step": "open",
        "priority": "normal",
        "channels": [channel],
        "recipients": {channel: recipient},
        "title": "Late",
        "body": "Anna, your driver is late.",
    }
    return OutboundMessage(**(values | extra))  # type: ignore[arg-type]


async def test_twilio_sends_form_with_basic_auth_and_classifies_errors(
    outreach_settings, http, providers
) -> None:
    twilio = TwilioNotifier(outreach_settings, http)
    sent = await twilio.send(message("sms", "+15550000301"))
    assert sent.outcome == "sent" and sent.provider_id and sent.provider_id.startswith("SM")
    assert (
        providers.sms[0]["from"] == "+15550001111"
        and providers.sms[0]["body"] == "Anna, your driver is late."
    )
    bad = await twilio.send(message("sms", "not-a-number"))
    assert bad.outcome == "rejected" and "21211" in bad.detail
    providers.fail["sms"] = [503]
    assert (await twilio.send(message("sms", "+15550000301"))).outcome == "retry"


async def test_twilio_finds_a_message_sent_before_a_crash(outreach_settings, http, providers) -> None:
    twilio = TwilioNotifier(outreach_settings, http)
    msg = message("sms", "+15550000302", attempt_started_at=int(time.time() * 1000))
    assert await twilio.was_sent(msg) is False
    await twilio.send(msg)
    assert await twilio.was_sent(msg) is True


async def test_fcm_v1_body_and_unregistered_token(outreach_settings, http, providers) -> None:
    fcm = FcmNotifier(outreach_settings, http)
    assert (await fcm.send(message("push", "token-1", priority="critical"))).outcome == "sent"
    sent = providers.push[0]
    assert sent["token"] == "token-1" and sent["notification"]["title"] == "Late"
    assert sent["android"]["priority"] == "high" and sent["apns"]["headers"]["apns-collapse-id"]
    providers.unregistered.add("gone")
    rejected = await fcm.send(message("push", "gone"))
    assert rejected.outcome == "rejected" and "UNREGISTERED" in rejected.detail


async def test_fcm_slowness_beyond_the_timeout_is_unknown_not_failed(
    outreach_settings, http, providers
) -> None:
    providers.delay_s["push"] = 1.5  # the settings' HTTP timeout is 1 s
    result = await FcmNotifier(outreach_settings, http).send(message("push", "token-2"))
    assert result.outcome == "unknown" and "Timeout" in result.detail
    assert len(providers.push) == 1  # FCM took it all the same


async def test_a_refused_connection_is_a_plain_retry(outreach_settings, http) -> None:
    from core.ports import free_port

    nobody = outreach_settings.replace(twilio_base_url=f"http://127.0.0.1:{free_port()}")
    result = await TwilioNotifier(nobody, http).send(message("sms", "+15550000303"))
    assert result.outcome == "retry"  # never connected: it cannot have been sent


async def test_twilio_asks_for_receipts_and_looks_up_since_the_first_attempt(
    outreach_settings, http, providers
) -> None:
    settings = outreach_settings.replace(outreach_public_url="https://tw.example/hooks")
    twilio = TwilioNotifier(settings, http)
    first = int(time.time() * 1000)
    sent = await twilio.send(message("sms", "+15550000304"))
    assert providers.status_callbacks[sent.provider_id or ""] == "https://tw.example/hooks/twilio/status"
    later = message("sms", "+15550000304", first_attempt_at=first, attempt_started_at=first + 600_000)
    assert await twilio.was_sent(later) is True  # found although the last attempt began later
    query = providers.list_queries[-1]
    assert query["To"] == "+15550000304" and query["DateSent>"] == time.strftime(
        "%Y-%m-%d", time.gmtime(first / 1000 - 120)
    )
    other = message("sms", "+15550000304", body="Another text", first_attempt_at=first)
    assert await twilio.was_sent(other) is False


async def test_webhook_is_signed_with_timestamp(outreach_settings, http, providers) -> None:
    hook = WebhookNotifier(outreach_settings, http)
    result = await hook.send(message("webhook", providers.base + "/hooks/helpdesk", payload={"type": "case"}))
    assert result.outcome == "sent" and providers.hooks[0]["type"] == "case"
    now = int(time.time())
    good = sign("secret", now, b"{}")
    assert verify("secret", str(now), b"{}", good)
    assert not verify("secret", str(now), b"{ }", good)  # body tampered
    assert not verify("secret", str(now - 3600), b"{}", sign("secret", now - 3600, b"{}"))  # replayed
    wrong = outreach_settings.replace(webhook_secret="other")
    refused = await WebhookNotifier(wrong, http).send(message("webhook", providers.base + "/hooks/x"))
    assert refused.outcome == "rejected" and "401" in refused.detail


async def test_pagerduty_events_v2(outreach_settings, http, providers) -> None:
    pd = PagerDutyNotifier(outreach_settings, http)
    event = page_event("trigger", "o1:sos:L0", "SOS", "critical", "tripwatch", {"order_id": "o1"})
    ok = await pd.send(message("pagerduty", "a" * 32, payload=event))
    assert ok.outcome == "sent" and ok.provider_id == "o1:sos:L0"
    assert providers.pages[0]["payload"]["severity"] == "critical"
    invalid = await pd.send(message("pagerduty", "short", payload=event))
    assert invalid.outcome == "rejected" and "invalid event" in invalid.detail
