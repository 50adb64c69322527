"""Told first, end to end: trip events and support contacts through the real broker, the real
worker and real outreach (phone network faked in the providers' wire formats); the board's
figures (/api/board), its /metrics and its contacts page show what happened."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest
import redis.asyncio as aioredis

from core import names
from notifiers.cases import CaseStore
from tests.dashboard.browser import screenshot, signed_in_page
from tests.dashboard.test_access import sign_in
from tests.helpers import consume_until, now_ms

pytestmark = pytest.mark.usefixtures("worker")


async def eventually(check: Callable[[], Awaitable[Any]], timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {check}")
        await asyncio.sleep(0.1)


def contact(event_id: str, passenger_id: str, **extra: object) -> dict[str, Any]:
    return {"event_id": event_id, "type": "support.contacted", "ts": now_ms(),
            "passenger_id": passenger_id, "channel": "call", **extra}  # fmt: skip


def late_order(order_id: str, passenger_id: str) -> dict[str, Any]:
    """An order whose promised pickup (plus the test rules' 2 s grace) has passed: pickup_delay."""
    return {"event_id": f"{order_id}-created", "type": "order.created", "order_id": order_id, "ts": now_ms(),
            "passenger_id": passenger_id, "pickup": {"lat": 52.52, "lon": 13.41},
            "dropoff": {"lat": 52.50, "lon": 13.33}, "promised_pickup_ts": now_ms() - 10_000}  # fmt: skip


@pytest.mark.timeout(180)
async def test_contacts_through_the_broker_reach_the_board(
    producer, settings, running_outreach, board, users, chromium
):
    run = uuid.uuid4().hex[:6]
    passenger, told, silent = f"tf-p-{run}", f"tf-told-{run}", f"tf-none-{run}"
    record = {"passenger_id": passenger, "name": "Anna", "locale": "en", "push_token": f"tok-{run}"}
    await producer.send(names.PASSENGERS, passenger, record)
    client = aioredis.from_url(settings.redis_dsn)
    try:
        await eventually(lambda: client.exists(names.passenger_key(passenger)))
        await producer.send(names.TRIP_EVENTS, told, late_order(told, passenger))
        sent = f"{told}:pickup_delay:1:open"
        sent_at = int(await eventually(lambda: client.zscore(names.OUTBOX_SENT, sent), timeout_s=30))

        # 1.5 s after our push: told first; the same contact read again counts once
        after_push = contact(f"c-{run}-1", passenger, order_id=told, topic="delay") | {"ts": sent_at + 1500}
        for _ in range(2):
            await producer.send(names.SUPPORT_CONTACTS, passenger, after_push)
        nowhere = contact(f"c-{run}-2", passenger, order_id=silent, topic="other", channel="chat")
        await producer.send(names.SUPPORT_CONTACTS, passenger, nowhere)
        scared = contact(f"c-{run}-3", passenger, order_id=f"tf-safe-{run}", topic="safety", channel="app")
        await producer.send(names.SUPPORT_CONTACTS, passenger, scared)
        await producer.send(names.SUPPORT_CONTACTS, passenger, b'{"type":"support.contacted"}')

        raised = await consume_until(
            settings, names.INCIDENTS, lambda m: m["order_id"] == f"tf-safe-{run}", timeout_s=30
        )
        assert (raised["kind"], raised["severity"]) == ("passenger_reported_safety", "critical")
        letter = await consume_until(
            settings, names.DEAD_LETTERS, lambda m: m["topic"] == names.SUPPORT_CONTACTS, timeout_s=30
        )
        assert "missing required field" in letter["reason"]
        case = await eventually(_once_contacted(client, f"{told}:pickup_delay"))
        assert case.support_contacts == 1 and case.told_first and case.contact_lead_s == 1.5
    finally:
        await client.aclose()

    session, status, _ = await sign_in(board, users.viewer)
    async with session:
        assert status == 302
        figures = await eventually(lambda: _figures(session))
        pickup = figures["kinds"]["pickup_delay"]
        assert (pickup["incidents_contacted"], pickup["told_first"], pickup["told_first_share"]) == (
            1,
            1,
            1.0,
        )
        assert pickup["lead_p50_s"] == 1.5 and pickup["contacts"] == 1
        assert figures["kinds"]["passenger_reported_safety"]["raised_by_contact"] == 1
        assert figures["unmatched"]["by_topic"] == {"other": 1}
        assert [c["event_id"] for c in figures["unmatched"]["latest"]] == [nowhere["event_id"]]
        async with session.get("/contacts") as page:
            assert page.status == 200 and nowhere["event_id"] in await page.text()
    page = await signed_in_page(chromium, board, users.viewer)
    try:
        await page.wait_for_selector("#told-first-share")
        assert await page.text_content("#told-first-share") == "100 %"
        assert await page.text_content("#unmatched-contacts") == "1 unmatched"
        await screenshot(page, "told-first-figures")
        await page.click("#told-first a")
        await page.wait_for_selector("#unmatched")
        await screenshot(page, "told-first-contacts")
    finally:
        await page.context.close()
    async with aiohttp.ClientSession() as anonymous, anonymous.get(board.url + "/metrics") as response:
        text = await response.text()
    assert 'tripwatch_told_first_share{kind="pickup_delay"} 1.0' in text
    assert 'tripwatch_incidents_contacted{kind="pickup_delay"} 1.0' in text
    assert 'tripwatch_support_contacts_unmatched{topic="other"} 1.0' in text


def _once_contacted(client, case_id: str) -> Callable[[], Awaitable[Any]]:
    async def check() -> Any:
        case = await CaseStore(client).get(case_id)
        return case if case is not None and case.support_contacts else None

    return check


async def _figures(session: aiohttp.ClientSession) -> dict[str, Any] | None:
    async with session.get("/api/board") as response:
        told_first = orjson.loads(await response.read())["figures"]["told_first"]
    done = (
        told_first and told_first["unmatched"]["total"] and "passenger_reported_safety" in told_first["kinds"]
    )
    return told_first if done else None
