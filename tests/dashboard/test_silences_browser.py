"""The silence form in a real headless Chromium: a recurring per-rule silence with an end date,
its error shown next to the form, its words in the list, and the incident it holds marked."""

from __future__ import annotations

import time

from dashboard.keys import REDIS
from rules.silences import silence_for
from tests.dashboard.browser import open_silences, row, screenshot, signed_in_page
from tests.dashboard.test_silences import BERLIN, daily_around, open_incident

IN_FIVE_DAYS = """() => {
  const d = new Date(Date.now() + 5 * 86400000);
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());  // datetime-local wants the browser's time
  return d.toISOString().slice(0, 16);
}"""


async def test_recurring_silence_from_the_form(board, users, chromium, order_id):
    city = f"city-{order_id[-8:]}"
    held = await open_incident(board, order_id, "pickup_delay", city, "pickup-delay-vip")
    page = await signed_in_page(chromium, board, users.supervisor)
    await page.goto(f"{board.url}/?city={city}")
    await page.wait_for_selector("#connection[data-state=live]")
    await row(page, held).wait_for()
    assert await row(page, held).locator(".silenced-mark").count() == 0

    await open_silences(page)
    window = daily_around(int(time.time() * 1000), BERLIN, -1, 1)  # holding now
    form = "#silence-form"
    await page.fill(f"{form} input[name=kind]", "pickup_delay")
    await page.fill(f"{form} input[name=city]", city)
    await page.fill(f"{form} input[name=rule_id]", "pickup-delay-vip")
    await page.fill(f"{form} input[name=ends]", await page.evaluate(IN_FIVE_DAYS))
    await page.fill(f"{form} input[name=daily_from]", window[:5])
    await page.fill(f"{form} input[name=timezone]", BERLIN)
    await page.click(f"{form} button[type=submit]")  # the window's end is missing
    await page.wait_for_selector("#silence-error:has-text('not silenced: daily: expected HH:MM-HH:MM')")
    await screenshot(page, "silence-form-refused")

    await page.fill(f"{form} input[name=daily_to]", window[6:])
    await page.click(f"{form} button[type=submit]")
    words = f"pickup_delay in {city}, rule pickup-delay-vip, daily {window} Europe/Berlin, until "
    item = page.locator(f"#silences li.silence:has-text('{words}')")
    await item.wait_for()
    assert await page.locator("#silence-error").inner_text() == ""
    assert f"by {users.supervisor}" in await item.inner_text() and "holding now" in await item.inner_text()
    mark = row(page, held).locator(".silenced-mark")
    await mark.wait_for()
    silence_id = await item.get_attribute("data-silence-id")
    assert await row(page, held).get_attribute("data-silenced-by") == silence_id

    redis = board.app[REDIS]
    stored = await silence_for(redis, {"kind": "pickup_delay", "city": city, "rule_id": "pickup-delay-vip"},
                               int(time.time() * 1000))  # fmt: skip
    assert stored is not None and stored.silence_id == silence_id  # outreach holds it too
    assert abs(stored.until_ms - (time.time() + 5 * 86400) * 1000) < 120_000  # the end typed in the form
    await screenshot(page, "silence-recurring-from-the-form")

    await item.locator("button.silence-expire").click()
    await item.wait_for(state="detached")
    await mark.wait_for(state="detached")
    await page.context.close()


async def test_an_all_matching_silence_needs_an_admin_and_a_confirmation(board, users, chromium, order_id):
    sos = await open_incident(board, order_id, "sos", f"city-{order_id[-8:]}", "sos")
    form = "#silence-form"
    page = await signed_in_page(chromium, board, users.supervisor)
    await open_silences(page)
    await page.fill(f"{form} input[name=reason]", "too noisy")  # kind, city and rule left empty: everything
    await page.wait_for_selector("#silence-preview[data-state=problem]:has-text('admins only')")
    await page.click(f"{form} button[type=submit]")
    await page.wait_for_selector("#silence-error:has-text('not silenced: kind: this silence would hold SOS')")
    assert await page.locator("#silences li.silence:has-text('too noisy')").count() == 0
    await page.fill(f"{form} input[name=kind]", "pickup-delay")  # a typo holds nothing: refused
    await page.click(f"{form} button[type=submit]")
    await page.wait_for_selector("#silence-error:has-text(\"kind: unknown kind 'pickup-delay'\")")
    await page.context.close()

    page = await signed_in_page(chromium, board, users.admin)
    await open_silences(page)
    await page.fill(f"{form} input[name=reason]", "drill")
    await page.fill(f"{form} input[name=minutes]", str(24 * 60))
    await page.wait_for_selector(f"{form} #confirm-safety-label", state="visible")
    await page.click(f"{form} button[type=submit]")  # not confirmed
    await page.wait_for_selector(
        "#silence-error:has-text('confirm_safety: this silence holds safety outreach')"
    )
    await page.check(f"{form} input[name=confirm_safety]")
    await page.click(f"{form} button[type=submit]")  # confirmed, but a day is too long
    await page.wait_for_selector("#silence-error:has-text('lasts at most 4h')")
    await page.fill(f"{form} input[name=minutes]", "30")
    await page.wait_for_selector("#silence-preview[data-state=safety]:has-text('would hold')")
    assert "includes safety kinds" in await page.locator("#silence-preview").inner_text()
    await screenshot(page, "silence-panel")
    await page.click(f"{form} button[type=submit]")
    item = page.locator("#silences li.silence:has-text('every kind everywhere')").filter(has_text="drill")
    await item.wait_for()
    await row(page, sos).locator(".silenced-mark").wait_for()

    await item.locator("button.silence-edit").click()  # edit: 15 minutes more reason
    await page.fill(f"{form} input[name=reason]", "drill, shorter")
    await page.click(f"{form} button[type=submit]")
    await page.locator("#silences li.silence").filter(has_text="drill, shorter").wait_for()
    edited = page.locator("#silences li.silence").filter(has_text="drill, shorter")
    await edited.locator("button.silence-expire").click()
    await edited.wait_for(state="detached")
    await page.context.close()
