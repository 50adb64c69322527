"""Alarms that hold: every turn into critical raises banner, tone and title mark, and they stand
until a person acknowledges; several criticals queue. A real Chromium on the real board."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.incidents import IncidentChange, incident_id_for
from core.supervision import SupervisorAction
from dashboard.keys import INCIDENT_STORE
from tests.dashboard.browser import row, screenshot, signed_in_page

HELD_LONGER_THAN_S = 16  # the old banner hid itself after 15 s


def alarm(page, incident_id: str):
    return page.locator(f'#alarms .alarm[data-incident-id="{incident_id}"]')


async def test_an_escalation_to_critical_raises_an_alarm_that_stands_until_acknowledged(
    board, users, chromium, order_id
):
    store = board.app[INCIDENT_STORE]
    cancelled = IncidentChange(
        action="open", kind="driver_cancellation", order_id=order_id, severity="high", city="berlin",
        summary="driver cancelled",
    )  # fmt: skip
    ten_minutes_ago = _now() - 600_000
    await store.apply(cancelled, ten_minutes_ago)
    incident_id = incident_id_for(order_id, "driver_cancellation")
    page = await signed_in_page(chromium, board, users.supervisor)
    await row(page, incident_id).wait_for()
    assert not await page.locator("#alarms").is_visible()
    beeps_before = await page.evaluate("window.twBeeps || 0")

    escalated = IncidentChange(**{**_fields(cancelled), "severity": "critical", "summary": "no driver found"})
    await store.apply(escalated, _now())
    await alarm(page, incident_id).wait_for()
    assert (await page.title()).startswith("(!) ")
    assert await page.evaluate("window.twBeeps") == beeps_before + 1
    assert "Driver cancelled" in await alarm(page, incident_id).inner_text()
    # the deadline counts from the escalation, not from the detection ten minutes ago
    countdown = await row(page, incident_id).locator("td.countdown").inner_text()
    assert "overdue" not in countdown

    second_id = incident_id_for(order_id, "sos")
    await store.apply(
        IncidentChange(action="open", kind="sos", order_id=order_id, severity="critical"), _now()
    )
    await alarm(page, second_id).wait_for()
    assert await alarm(page, incident_id).is_visible()  # queued, each visible
    await screenshot(page, "board-alarms")

    await asyncio.sleep(HELD_LONGER_THAN_S)  # deliberately: nothing may clear the alarm meanwhile
    assert await alarm(page, incident_id).is_visible() and await alarm(page, second_id).is_visible()
    assert (await page.title()).startswith("(!) ")

    await alarm(page, incident_id).locator("button.act-acknowledge").click()
    await alarm(page, incident_id).wait_for(state="detached")
    assert await alarm(page, second_id).is_visible() and (await page.title()).startswith("(!) ")
    await store.act(
        SupervisorAction(action="acknowledge", incident_id=second_id, actor="x", role="admin"), _now()
    )
    await page.locator("#alarms").wait_for(state="hidden")
    assert not (await page.title()).startswith("(!)")
    await page.context.close()


async def test_an_acknowledged_incident_that_turns_critical_alarms_again(board, users, chromium, order_id):
    store = board.app[INCIDENT_STORE]
    stop = IncidentChange(
        action="open", kind="long_stop", order_id=order_id, severity="high", summary="stopped"
    )
    await store.apply(stop, _now())
    incident_id = incident_id_for(order_id, "long_stop")
    await store.act(
        SupervisorAction(action="acknowledge", incident_id=incident_id, actor="x", role="admin"), _now()
    )
    page = await signed_in_page(chromium, board, users.supervisor)
    await page.wait_for_selector(f'tr.incident[data-incident-id="{incident_id}"][data-status="acknowledged"]')
    await store.apply(
        IncidentChange(**{**_fields(stop), "severity": "critical", "summary": "stopped 20 min"}), _now()
    )
    await alarm(page, incident_id).wait_for()
    assert await row(page, incident_id).get_attribute("data-status") == "open"
    await page.context.close()


# Chromium under Playwright always lets audio start (it passes --autoplay-policy=no-user-gesture-required),
# so the page gets the AudioContext a browser with the usual policy gives: suspended until resume().
HELD_BACK_AUDIO = """
(() => {
  const Real = window.AudioContext;
  window.AudioContext = class extends Real {
    constructor() { super(); this._held = true; }
    get state() { return this._held ? "suspended" : super.state; }
    resume() { this._held = false; window.twResumed = true; this.onstatechange && this.onstatechange(); return super.resume(); }
  };
})();
"""


async def test_the_page_asks_once_to_enable_sound_when_the_browser_holds_it_back(board, users, chromium):
    signed_in = await signed_in_page(chromium, board, users.supervisor)
    await signed_in.context.add_init_script(HELD_BACK_AUDIO)
    page = await signed_in.context.new_page()
    await page.goto(board.url + "/")
    prompt = page.locator("#enable-sound")
    await prompt.wait_for()
    await prompt.click()
    await prompt.wait_for(state="hidden")
    assert await page.evaluate("window.twResumed") is True
    await signed_in.context.close()


def _fields(change: IncidentChange) -> dict:
    return {name: getattr(change, name) for name in change.__struct_fields__}


def _now() -> int:
    return int(time.time() * 1000)


pytestmark = pytest.mark.timeout(120)
