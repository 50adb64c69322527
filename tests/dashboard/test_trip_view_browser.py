"""The trip view as a person reads it, in a real Chromium: times in their zone and in words,
no raw values, the case in sentences, buttons that act, and a Leaflet map with the route, the
track, the off-route stretch and the SOS point (on a plain background: the tests are offline)."""

from __future__ import annotations

import re
import time

import msgspec
import pytest
import redis.asyncio as aioredis

from core import models
from core.incidents import IncidentChange, incident_id_for
from core.trip_log import TripLog
from dashboard.keys import INCIDENT_STORE
from tests.dashboard.browser import screenshot, signed_in_page

ROUTE = [(52.520, 13.400), (52.520, 13.420), (52.520, 13.440)]
EPOCH_MS = re.compile(r"\b1\d{12}\b")


@pytest.fixture
async def redis(settings):
    client = aioredis.from_url(settings.redis_dsn)
    yield client
    await client.aclose()


async def record_trip(redis, order_id: str, start: int) -> None:
    log = TripLog(redis, max_events=50, track_interval_ms=0)
    events = [
        models.OrderCreated(event_id="c", order_id=order_id, ts=start, passenger_id="p-map",
                            pickup=models.Place(52.52, 13.40), dropoff=models.Place(52.52, 13.44),
                            promised_pickup_ts=start + 300_000, city="berlin"),
        models.DriverAssigned(event_id="a", order_id=order_id, ts=start + 10_000, eta_pickup_ts=start + 240_000,
                              driver=models.Driver(id="d", name="Jonas Weber", plate="B-TW 1",
                                                   phone="+4915199999999")),
        models.TripStarted(event_id="s", order_id=order_id, ts=start + 300_000, eta_dropoff_ts=start + 1_200_000,
                           route=ROUTE),
    ]  # fmt: skip
    for event in events:
        await log.record(event)
    for n, (lat, lon) in enumerate(
        ((52.520, 13.405), (52.522, 13.412), (52.5235, 13.418), (52.5205, 13.425))
    ):
        ping = models.TelemetryPing(order_id=order_id, driver_id="d", ts=start + 310_000 + n * 5_000,
                                    lat=lat, lon=lon, speed_kmh=30)  # fmt: skip
        await log.record(ping)
    sos = models.SafetySignal(event_id="sos", type="sos.pressed", order_id=order_id, ts=start + 340_000,
                              source="passenger", lat=52.5205, lon=13.425, note="driver is shouting")  # fmt: skip
    await log.record(sos)
    passenger = models.Passenger(passenger_id="p-map", name="Anna", locale="en", phone="+4915112345678")
    await redis.set("tw:passenger:p-map", msgspec.json.encode(passenger))


async def test_the_trip_view_reads_like_words_with_a_map(board, users, chromium, redis, order_id):
    start = int(time.time() * 1000) - 600_000
    await record_trip(redis, order_id, start)
    store = board.app[INCIDENT_STORE]
    change = IncidentChange(
        action="open", kind="sos", order_id=order_id, severity="critical", city="berlin",
        summary="SOS pressed by the passenger", details={"lat": 52.5205, "lon": 13.425, "note": None},
    )  # fmt: skip
    await store.apply(change, start + 341_000)
    page = await signed_in_page(chromium, board, users.supervisor)
    await page.goto(f"{board.url}/trips/{order_id}")
    await page.locator("#trip-map.leaflet-container path.planned-route").wait_for(state="attached")

    text = await page.locator("main").inner_text()
    assert not EPOCH_MS.search(text), EPOCH_MS.search(text)
    for raw in ("None", "null", "undefined", "False", "True", "escalation_level", "{"):
        assert raw not in text, raw
    assert "Driver Jonas Weber (B-TW 1) assigned, ETA at the pickup" in text
    assert "SOS pressed by the passenger: driver is shouting" in text
    zone = await page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert await page.locator("#zone").inner_text() == zone
    assert await page.locator("#trip-map path.actual-track").count() == 1
    assert await page.locator("#trip-map path.off-route").count() == 1
    assert await page.locator("#trip-map path.point-sos").count() >= 1
    assert await page.locator("#trip-map path.point-pickup").count() == 1
    assert await page.locator("#trip-map img.leaflet-tile").count() == 0  # offline: a plain background
    await screenshot(page, "trip-view-map")

    incident_id = incident_id_for(order_id, "sos")
    item = page.locator(f'#trip-incidents li[data-incident-id="{incident_id}"]')
    await item.locator("button.act-acknowledge").click()
    await page.locator(
        f'#trip-incidents li[data-incident-id="{incident_id}"][data-status="acknowledged"]'
    ).wait_for()
    assert f"acknowledged by {users.supervisor}" in await item.inner_text()
    assert f"{users.supervisor} (supervisor) acknowledged" in await page.locator("#timeline").inner_text()
    await page.context.close()


pytestmark = pytest.mark.timeout(60)
