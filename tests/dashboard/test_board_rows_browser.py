"""The board itself in a real Chromium: rows updated in place, 25+ rows on a 1440x900 screen,
bulk acknowledge, assign, reopen from the row, and the incident page."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.incidents import IncidentChange, incident_id_for
from core.supervision import SupervisorAction
from dashboard.keys import INCIDENT_STORE
from tests.dashboard.browser import row, screenshot, signed_in_page

KINDS = (
    "pickup_delay",
    "trip_delay",
    "route_deviation",
    "payment_failure",
    "double_charge",
    "driver_cancellation",
)


async def open_many(store, order_id: str, city: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        kind = KINDS[n % len(KINDS)]
        change = IncidentChange(
            action="open", kind=kind, order_id=f"{order_id}-{n}", city=city, severity="medium",
            summary=f"incident number {n} with a rather long description that must not push the buttons away " * 2,
        )  # fmt: skip
        await store.apply(change, _now())
        ids.append(incident_id_for(f"{order_id}-{n}", kind))
    return ids


async def test_rows_update_in_place_and_25_fit_on_a_laptop_screen(board, users, chromium, order_id):
    store = board.app[INCIDENT_STORE]
    city = f"dense-{order_id[-8:]}"
    ids = await open_many(store, order_id, city, 30)
    page = await signed_in_page(chromium, board, users.supervisor)
    await page.set_viewport_size({"width": 1440, "height": 900})
    await page.goto(f"{board.url}/?city={city}")
    await page.wait_for_function("() => document.querySelectorAll('tr.incident').length === 30")
    on_screen = await page.evaluate(
        "() => [...document.querySelectorAll('tr.incident')].filter(r => r.getBoundingClientRect().bottom <= 900).length"
    )
    await screenshot(page, "board-dense")
    assert on_screen >= 25, on_screen
    right_edge = await page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('td.actions button')].map(b => b.getBoundingClientRect().right))"
    )
    assert right_edge <= 1440  # a long summary does not push the actions off-screen

    first, second = ids[0], ids[1]
    await row(page, first).evaluate("r => { r.twMarked = true; }")
    await row(page, second).evaluate("r => { r.twMarked = true; }")
    await store.act(
        SupervisorAction(action="note", incident_id=second, actor="x", role="admin", text="hi"), _now()
    )
    await page.wait_for_selector(f'tr.incident[data-incident-id="{second}"] td.note:has-text("hi")')
    assert await row(page, first).evaluate("r => r.twMarked === true")  # untouched: the very same node
    assert await row(page, second).evaluate("r => r.twMarked === undefined")  # changed: replaced in place
    await page.context.close()


async def test_bulk_acknowledge_assign_and_reopen_from_the_row(board, users, chromium, order_id):
    store = board.app[INCIDENT_STORE]
    city = f"bulk-{order_id[-8:]}"
    ids = await open_many(store, order_id, city, 3)
    page = await signed_in_page(chromium, board, users.supervisor)
    await page.goto(f"{board.url}/?city={city}")
    await page.wait_for_function("() => document.querySelectorAll('tr.incident').length === 3")

    for incident_id in ids[:2]:
        await row(page, incident_id).locator("input.pick").check()
    assert await page.locator("#bulk-count").inner_text() == "2"
    await page.click("#bulk-acknowledge")
    for incident_id in ids[:2]:
        await page.wait_for_selector(
            f'tr.incident[data-incident-id="{incident_id}"][data-status="acknowledged"]'
        )
    assert await row(page, ids[2]).get_attribute("data-status") == "open"

    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept(users.second)))
    await row(page, ids[2]).locator("button.act-assign").click()
    await page.wait_for_selector(
        f'tr.incident[data-incident-id="{ids[2]}"] td.owner:text-is("{users.second}")'
    )

    resolve = SupervisorAction(action="resolve", incident_id=ids[2], actor="x", role="admin", text="done")
    await store.act(resolve, _now())
    await page.wait_for_selector(f'tr.incident[data-incident-id="{ids[2]}"][data-status="resolved"]')
    await row(page, ids[2]).locator("button.act-reopen").click()  # no filter change needed
    await page.wait_for_selector(f'tr.incident[data-incident-id="{ids[2]}"][data-status="open"]')

    await row(page, ids[0]).locator("td.summary a").click()
    await page.wait_for_url(f"**/incidents/{ids[0].replace(':', '%3A')}")
    text = await page.locator("main").inner_text()
    assert f"acknowledged by {users.supervisor}" in text and "None" not in text
    assert f"{users.supervisor} (supervisor) acknowledged" in await page.locator("#timeline").inner_text()
    await screenshot(page, "incident-page")
    await page.context.close()


def _now() -> int:
    return int(time.time() * 1000)


pytestmark = pytest.mark.timeout(90)
