"""Sessions that end: a removed, signed-out or re-roled user's open board stream is closed
within seconds, not only refused at the next request. A real Chromium on the real board."""

from __future__ import annotations

import time
import uuid

import pytest

from dashboard.keys import HUB, USERS
from tests.dashboard.browser import signed_in_page
from tests.dashboard.conftest import PASSWORD

CLOSED_WITHIN_MS = 5_000


async def _new_user(board, role: str) -> str:
    name = f"brief-{uuid.uuid4().hex[:8]}"
    await board.app[USERS].add(name, PASSWORD, role)
    return name


async def _stream_closed_within(page, started: float) -> float:
    await page.wait_for_url("**/login**", timeout=CLOSED_WITHIN_MS)
    return (time.monotonic() - started) * 1000


async def test_a_removed_users_open_websocket_is_closed_within_5_s(board, chromium):
    name = await _new_user(board, "supervisor")
    page = await signed_in_page(chromium, board, name)
    clients = len(board.app[HUB].clients)
    started = time.monotonic()
    await board.app[USERS].remove(name)
    elapsed = await _stream_closed_within(page, started)
    print(f"user removed -> stream closed: {elapsed:.0f} ms")
    assert len(board.app[HUB].clients) == clients - 1
    await page.context.close()


async def test_signing_out_in_one_tab_closes_the_stream_of_the_other(board, chromium):
    name = await _new_user(board, "viewer")
    page = await signed_in_page(chromium, board, name)
    other = await page.context.new_page()
    await other.goto(board.url + "/")
    await other.wait_for_selector("#connection[data-state=live]")
    started = time.monotonic()
    await other.click(".logout button")
    await _stream_closed_within(page, started)
    await page.context.close()
    await board.app[USERS].remove(name)


async def test_a_role_change_closes_the_stream(board, chromium):
    name = await _new_user(board, "supervisor")
    page = await signed_in_page(chromium, board, name)
    started = time.monotonic()
    await board.app[USERS].remove(name)
    await board.app[USERS].add(name, PASSWORD, "viewer")  # downgraded: the old session must not live on
    await _stream_closed_within(page, started)
    await page.context.close()
    await board.app[USERS].remove(name)


pytestmark = pytest.mark.timeout(60)
