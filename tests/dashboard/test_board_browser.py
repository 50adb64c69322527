"""The board in a real headless Chromium: live incidents, actions across sessions, reconnects,
roles and escaping. The worker, broker and Redis are the session's real ones."""

from __future__ import annotations

import asyncio
import time

import pytest

from core import names
from core.incidents import IncidentChange, incident_id_for
from core.supervision import SupervisorAction
from dashboard.keys import INCIDENT_STORE
from tests.dashboard.browser import eventually, open_silences, row, screenshot, seen_at, signed_in_page
from tools.replay import replay
from tools.scenario import Scenario, ScheduledEvent

XSS = '<img src=x onerror="window.__xss=1">'


def late_pickup_scenario(order_id: str) -> Scenario:
    """The promise passed 10 s before the start: the worker opens a pickup delay at once."""
    created = {
        "event_id": f"{order_id}-created", "type": "order.created", "order_id": order_id, "city": "berlin",
        "passenger_id": f"p-{order_id}", "pickup": {"lat": 52.52, "lon": 13.41},
        "dropoff": {"lat": 52.50, "lon": 13.33}, "promised_pickup_ts": -10,
    }  # fmt: skip
    assigned = {
        "event_id": f"{order_id}-assigned", "type": "driver.assigned", "order_id": order_id,
        "eta_pickup_ts": 30, "driver": {"id": "d-1", "name": f"Jonas {XSS}", "plate": "B-TW 1",
                                        "phone": "+4915199999999"},
    }  # fmt: skip
    passenger = {"passenger_id": f"p-{order_id}", "name": "Anna", "locale": "en", "phone": "+4915112345678"}
    return Scenario(
        name="board-live",
        events=[
            ScheduledEvent(0, names.PASSENGERS, passenger, 1),
            ScheduledEvent(0, names.TRIP_EVENTS, created, 2),
            ScheduledEvent(0, names.TRIP_EVENTS, assigned, 3),
        ],
    )


async def test_live_incident_ack_on_second_board_and_trip_view(
    worker, board, users, chromium, settings, redis_client, order_id
):
    first = await signed_in_page(chromium, board, users.supervisor)
    second = await signed_in_page(chromium, board, users.second)
    incident_id = incident_id_for(order_id, "pickup_delay")
    selector = f'tr.incident[data-incident-id="{incident_id}"]'

    await replay(settings, late_pickup_scenario(order_id), speed=0)
    seen = await seen_at(first, selector)
    stored = await eventually(lambda: _stored(redis_client, incident_id))
    latency_ms = seen - stored["updated_at"]
    print(f"incident stored -> on the board: {latency_ms} ms")
    assert latency_ms < 1000
    assert await row(first, incident_id).locator("td.summary").inner_text() == stored["summary"]
    await screenshot(first, "board-live-incident")

    acked = f'{selector}[data-status="acknowledged"]'
    clicked = int(await first.evaluate("Date.now()"))
    await row(first, incident_id).locator("button.act-acknowledge").click()
    ack_latency_ms = await seen_at(second, acked) - clicked
    print(f"acknowledge on one board -> on the other: {ack_latency_ms} ms")
    assert ack_latency_ms < 1000
    assert users.supervisor in await row(second, incident_id).locator("td.countdown").inner_text()

    await row(second, incident_id).locator("button.act-take").click()
    await first.wait_for_selector(f"{selector} td.owner:text-is('{users.second}')")

    second.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept(XSS)))
    await row(second, incident_id).locator("button.act-note").click()
    note = row(first, incident_id).locator("td.note")
    await eventually(lambda: _contains(note, XSS))
    assert await first.evaluate("window.__xss") is None
    assert await first.locator("td.note img").count() == 0
    await screenshot(first, "board-acknowledged-taken-noted")

    await first.goto(f"{board.url}/trips/{order_id}")
    driver = first.locator("#driver .driver-name")
    assert await driver.inner_text() == f"Jonas {XSS}"
    assert await first.locator("#driver img").count() == 0
    assert await first.evaluate("window.__xss") is None
    assert await first.locator("#driver .phone").inner_text() == "+4915199999999"  # supervisors see phones
    timeline = await first.locator("#timeline").inner_text()
    for expected in (
        "Order created in berlin; pickup promised for",
        f"Driver Jonas {XSS} (B-TW 1) assigned, ETA at the pickup",
        "Pickup delay opened",
        f"{users.supervisor} (supervisor) acknowledged",
    ):
        assert expected in timeline
    await screenshot(first, "trip-view")
    for page in (first, second):
        await page.context.close()


async def test_viewer_sees_masked_phones_and_cannot_act(board, users, chromium, order_id):
    store = board.app[INCIDENT_STORE]
    change = IncidentChange(
        action="open", kind="payment_failure", order_id=order_id, severity="medium", city="hamburg",
        summary="card declined", details={"passenger": {"phone": "+4915112345678"}},
    )  # fmt: skip
    await store.apply(change, _now())
    incident_id = incident_id_for(order_id, "payment_failure")
    viewer = await signed_in_page(chromium, board, users.viewer)
    await row(viewer, incident_id).wait_for()
    assert await row(viewer, incident_id).locator("button").count() == 0
    status = await viewer.evaluate(
        """async (id) => (await fetch(`/api/incidents/${id}/acknowledge`, {method: "POST",
             headers: {"X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content}}))
             .status""",
        incident_id,
    )
    assert status == 403
    snapshot = await viewer.evaluate("async () => (await (await fetch('/api/board')).json())")
    mine = next(r for r in snapshot["rows"] if r["incident_id"] == incident_id)
    assert mine["details"]["passenger"]["phone"] != "+4915112345678"
    assert mine["details"]["passenger"]["phone"].endswith("78")
    assert (await store.get(incident_id)).status == "open"
    await screenshot(viewer, "board-viewer")
    await viewer.context.close()


async def test_reconnect_after_drop_resyncs_without_loss_or_duplicates(board, users, chromium, order_id):
    store = board.app[INCIDENT_STORE]
    page = await signed_in_page(chromium, board, users.supervisor)
    existing = IncidentChange(
        action="open", kind="trip_delay", order_id=order_id, severity="low", summary="late"
    )
    await store.apply(existing, _now())
    existing_id = incident_id_for(order_id, "trip_delay")
    await row(page, existing_id).wait_for()

    board.drop_all_sockets()
    await page.wait_for_selector("#connection[data-state=reconnecting]")
    # While the page is away: a note on the known incident and a new critical one.
    note = SupervisorAction(
        action="note", incident_id=existing_id, actor="someone", role="admin", text="called"
    )
    await store.act(note, _now())
    critical = IncidentChange(
        action="open", kind="sos", order_id=order_id, severity="critical", summary="SOS"
    )
    await store.apply(critical, _now())
    critical_id = incident_id_for(order_id, "sos")

    await page.wait_for_selector("#connection[data-state=live]")
    await page.wait_for_selector(f'tr.incident[data-incident-id="{critical_id}"]')
    assert await row(page, existing_id).locator("td.note").inner_text() == "called — someone"
    assert await row(page, existing_id).count() == 1 and await row(page, critical_id).count() == 1
    assert await page.locator(f'#alarms .alarm[data-incident-id="{critical_id}"]').is_visible()  # an alarm
    assert await page.evaluate("window.twBeeps") == 1  # and a tone, once
    assert (await page.title()).startswith("(!) ")
    # safety first: the SOS is above the trip delay
    order = await page.locator("tr.incident").evaluate_all("rows => rows.map(r => r.dataset.incidentId)")
    assert order.index(critical_id) < order.index(existing_id)
    # and live updates flow again on the new socket
    await store.act(SupervisorAction(action="take", incident_id=critical_id, actor="x", role="admin"), _now())
    await page.wait_for_selector(f'tr.incident[data-incident-id="{critical_id}"] td.owner:text-is("x")')
    await screenshot(page, "board-after-reconnect")
    await page.context.close()


async def test_filters_live_in_the_url_and_silence_from_the_board(board, users, chromium, order_id):
    store = board.app[INCIDENT_STORE]
    city = f"city-{order_id[-8:]}"
    for kind, severity in (("sos", "critical"), ("trip_delay", "low"), ("payment_failure", "medium")):
        change = IncidentChange(action="open", kind=kind, order_id=order_id, severity=severity, city=city)
        await store.apply(change, _now())
    page = await signed_in_page(chromium, board, users.supervisor)
    await page.goto(f"{board.url}/?city={city}&severity=critical")
    await page.wait_for_selector("#connection[data-state=live]")
    shown = page.locator("tr.incident")
    await shown.first.wait_for()
    assert await shown.evaluate_all("rows => rows.map(r => r.dataset.incidentId)") == [f"{order_id}:sos"]
    assert await page.locator("#filters select[name=severity]").input_value() == "critical"

    await page.select_option("#filters select[name=severity]", "")
    await page.wait_for_function("() => !location.search.includes('severity')")
    assert f"city={city}" in page.url
    await page.wait_for_function("() => document.querySelectorAll('tr.incident').length === 3")
    order = await shown.evaluate_all("rows => rows.map(r => r.dataset.incidentId.split(':').pop())")
    assert order[0] == "sos"  # safety first

    await open_silences(page)
    await page.fill("#silence-form input[name=kind]", "trip_delay")
    await page.fill("#silence-form input[name=city]", city)
    await page.fill("#silence-form input[name=minutes]", "15")
    await page.click("#silence-form button[type=submit]")
    await page.wait_for_selector(f"#silences li.silence:has-text('trip_delay in {city}')")
    await screenshot(page, "board-filtered-silenced")
    await page.locator(f"#silences li.silence:has-text('trip_delay in {city}') button.silence-expire").click()
    await page.wait_for_selector(f"#silences li.silence:has-text('trip_delay in {city}')", state="detached")
    await page.context.close()


async def test_subordinates_fold_under_their_critical_parent(board, users, chromium, order_id):
    store = board.app[INCIDENT_STORE]
    parent_id = incident_id_for(order_id, "crash_suspected")
    page = await signed_in_page(chromium, board, users.supervisor)
    await store.apply(
        IncidentChange(action="open", kind="crash_suspected", order_id=order_id, severity="critical"), _now()
    )
    await store.apply(
        IncidentChange(
            action="open", kind="trip_delay", order_id=order_id, severity="low", subordinate_to=parent_id
        ),
        _now(),
    )
    child = row(page, incident_id_for(order_id, "trip_delay"))
    toggle = row(page, parent_id).locator("button.fold")
    await toggle.wait_for()
    assert await toggle.inner_text() == "+1 related"
    await child.wait_for(state="attached")
    assert not await child.is_visible()
    group = page.locator("tbody.group", has=row(page, parent_id))
    assert await group.locator("tr.incident").count() == 2  # the child sits in its parent's group
    await toggle.click()
    await child.wait_for(state="visible")
    await screenshot(page, "board-folded-subordinate")
    await page.context.close()


def _now() -> int:
    return int(time.time() * 1000)


async def _stored(redis_client, incident_id: str) -> dict | None:
    import orjson

    raw = redis_client.get(names.incident_key(incident_id))
    return orjson.loads(raw) if raw else None


async def _contains(locator, text: str) -> bool:
    return text in await locator.inner_text()


pytestmark = pytest.mark.timeout(90)
