"""Push after a crash: FCM cannot be asked whether a request it never answered went through, so
the message is sent again; the device still shows it once (same tag / apns-collapse-id).

`tripwatch outreach` is killed with SIGKILL while a push request is in flight; after a restart
every message the incidents imply is shown exactly once on the passenger's device (counted on
the fake FCM's device model), FCM got at most one request more than messages, and the case
timeline names the message that was re-sent."""

from __future__ import annotations

import time
import uuid
from collections import Counter

import msgspec
import orjson
import pytest

from core import names
from core.models import Passenger
from monitor.topics import ensure_topics
from notifiers.cases import CaseStore
from notifiers.fcm import FcmNotifier
from notifiers.model import OutboundMessage, decode_message
from tests.notifiers.conftest import add_passenger
from tests.notifiers.test_kill_e2e import incident, kill_mid_delivery

TRIPS = 6
RESENT = "re-sent after an interrupted send; FCM cannot be asked, the device shows it once"


async def test_the_device_shows_a_repeated_push_once(outreach_settings, http, providers) -> None:
    providers.ios_tokens.add("iphone")
    fcm = FcmNotifier(outreach_settings, http)
    for token in ("android", "iphone"):
        first = OutboundMessage(
            message_id=f"dev-{token}:1:open", incident_id="i", case_id=None, step="open",
            priority="normal", channels=["push"], recipients={"push": token}, title="T", body="Late",
        )  # fmt: skip
        other = msgspec.structs.replace(first, message_id=f"dev-{token}:2:update", step="update")
        for message in (first, first, other):  # the first one twice, as after a crash
            assert (await fcm.send(message)).outcome == "sent"
        shown = [n["data"]["message_id"] for n in providers.shown_on(token)]
        assert sorted(shown) == [f"dev-{token}:1:open", f"dev-{token}:2:update"]
    assert len(providers.push) == 6  # FCM accepted and counted every request


@pytest.mark.timeout(90)
async def test_kill_9_mid_push_shows_every_message_once(
    outreach_settings, settings, redis, producer, providers, tmp_path
) -> None:
    settings = outreach_settings.model_copy(
        update={
            "kafka_url": settings.kafka_url,
            "app_id": f"outreach-kill-push-{uuid.uuid4().hex[:6]}",
            "outreach_group_wait_s": 0.0,
            "outreach_concurrency": 1,  # one request in flight: a kill interrupts at most one
            "outreach_lease_s": 2.0,
            "outreach_http_timeout_s": 5.0,
            "outreach_tick_s": 0.05,
        }
    )
    await ensure_topics(settings)
    providers.delay_s["push"] = 0.4  # accepted (and shown) on arrival, answered late
    run = uuid.uuid4().hex[:6]
    orders = [f"killpush-{run}-{n}" for n in range(TRIPS)]
    for n, order in enumerate(orders):
        token = f"{'ios' if n % 2 else 'android'}-{run}-{n}"
        if n % 2:
            providers.ios_tokens.add(token)
        person = Passenger(
            passenger_id=f"p-{order}", name="Anna", locale="en", push_token=token, channels=["push"]
        )
        await add_passenger(redis, person)
    eta = int(time.time() * 1000) + 20 * 60_000
    for order in orders:  # each implies two messages: the opening and one update (new ETA)
        for value in (incident(order, 1), incident(order, 1), incident(order, 2, eta)):
            await producer.send(names.INCIDENTS, f"{order}:pickup_delay", orjson.dumps(value))

    expected = 2 * TRIPS
    log_path = tmp_path / "outreach.log"
    killed_at = await kill_mid_delivery(
        settings, log_path, redis, lambda: len(providers.push), 4, expected, done=lambda: _shown(providers)
    )
    assert killed_at < expected, "the kill came after delivery had finished"
    keys = await redis.keys(names.OUTBOX_MESSAGE + "killpush-*")
    messages = [decode_message(await redis.get(key)) for key in keys]
    log_tail = log_path.read_text()[-3000:]
    assert len(messages) == expected and all(m.status == "sent" for m in messages), log_tail
    shown = Counter(n["data"]["message_id"] for token in providers.shown for n in providers.shown_on(token))
    assert shown == Counter({m.message_id: 1 for m in messages})  # each message shown exactly once
    assert all(len(providers.shown_on(m.recipients["push"])) == 2 for m in messages)
    # The send in flight at the kill went again, and its case says so. (Its first request
    # almost always reached FCM too; if the kill beat the request, FCM counted it once.)
    resent = {m.message_id for m in messages for e in await _deliveries(redis, m) if RESENT in e}
    assert len(resent) == 1
    requests = Counter(m["data"]["message_id"] for m in providers.push)
    twice = {message_id for message_id, n in requests.items() if n > 1}
    assert twice <= resent and len(providers.push) == expected + len(twice) <= expected + 1
    print(
        f"{expected} messages, {len(providers.push)} FCM requests, {_shown(providers)} shown; re-sent {resent}"
    )


def _shown(providers) -> int:
    return sum(len(providers.shown_on(token)) for token in providers.shown)


async def _deliveries(redis, message: OutboundMessage) -> list[str]:
    assert message.case_id, "every pickup_delay incident has a case"
    timeline = await CaseStore(redis).timeline(message.case_id)
    return [
        e.text for e in timeline if e.what == "delivery" and e.data.get("message_id") == message.message_id
    ]
