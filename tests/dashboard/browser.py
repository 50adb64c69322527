"""Helpers for the browser tests: signing in, polling without blocking the loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tests.conftest import ARTIFACTS
from tests.dashboard.conftest import PASSWORD, Board


async def eventually(check: Callable[[], Awaitable[Any]], timeout_s: float = 10.0) -> Any:
    """Await `check` until it returns something truthy (the board runs on this same loop)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise TimeoutError(f"condition not met within {timeout_s} s")


async def signed_in_page(chromium: Any, board: Board, user: str) -> Any:
    """A fresh browser context (its own cookies), signed in, with the board live."""
    context = await chromium.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(10_000)
    await page.goto(board.url + "/")
    await page.fill("input[name=user]", user)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(board.url + "/")
    await page.wait_for_selector("#connection[data-state=live]")
    return page


async def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def row(page: Any, incident_id: str) -> Any:
    return page.locator(f'tr.incident[data-incident-id="{incident_id}"]')


async def seen_at(page: Any, selector: str, timeout_ms: int = 10_000) -> int:
    """The page's clock (ms) when `selector` first matched (checked on every frame)."""
    handle = await page.wait_for_function(
        "(s) => document.querySelector(s) ? Date.now() : null",
        arg=selector,
        polling="raf",
        timeout=timeout_ms,
    )
    return int(await handle.json_value())


async def open_silences(page: Any) -> None:
    """Open the silence panel (closed by default: the board shows incidents first)."""
    if not await page.evaluate("document.getElementById('silence-panel').open"):
        await page.locator("#silence-panel > summary").click()
    await page.locator("#silences").wait_for()
