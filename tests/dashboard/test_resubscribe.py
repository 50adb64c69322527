"""The board's live feed survives losing its Redis subscription: Valkey drops the pub/sub
connection (`CLIENT KILL TYPE pubsub`), the relay resubscribes, the browsers resynchronise,
and changes published afterwards still reach them."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from aiohttp import WSMsgType

from core import names
from core.incidents import IncidentChange, incident_id_for
from core.supervision import SupervisorAction
from dashboard.hub import Hub, relay
from dashboard.keys import INCIDENT_STORE
from tests.dashboard.browser import row, screenshot, signed_in_page
from tests.dashboard.test_access import sign_in
from tests.dashboard.test_several_boards import next_message


def now_ms() -> int:
    return int(time.time() * 1000)


def board_subscribers(redis_client) -> set[str]:
    """Ids of the Valkey connections subscribed as a board is (two channels)."""
    return {c["id"] for c in redis_client.client_list(_type="pubsub") if c["sub"] == "2"}


async def open_incident(board, order_id: str, kind: str) -> str:
    change = IncidentChange(action="open", kind=kind, order_id=order_id, city="berlin", severity="high")
    await board.app[INCIDENT_STORE].apply(change, now_ms())
    return incident_id_for(order_id, kind)


async def test_websocket_client_resyncs_and_gets_changes_after_the_subscription_is_killed(
    board, users, order_id, redis_client
):
    client, _, _ = await sign_in(board, users.viewer)
    async with client:
        ws = await client.ws_connect("/ws", headers={"Origin": board.url})
        await next_message(ws, lambda m: m["type"] == "snapshot")
        before = board_subscribers(redis_client)
        assert before and redis_client.client_kill_filter(_type="pubsub") >= len(before)
        in_the_gap = await open_incident(board, order_id, "sos")  # possibly before the resubscription

        closed = await ws.receive(timeout=5.0)
        assert closed.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)  # told to resynchronise

        ws = await client.ws_connect("/ws", headers={"Origin": board.url})  # as the browser does
        snapshot = await next_message(ws, lambda m: m["type"] == "snapshot")
        assert in_the_gap in {r["incident_id"] for r in snapshot["rows"]}
        after = board_subscribers(redis_client)
        assert after and not after & before  # a new subscription, not the killed one

        later = await open_incident(board, order_id, "long_stop")
        update = await next_message(
            ws, lambda m: m["type"] == "incident" and m["row"]["incident_id"] == later
        )
        assert update["row"]["status"] == "open"
        await ws.close()


async def test_browser_shows_changes_after_the_subscription_is_killed(
    board, users, chromium, order_id, redis_client
):
    page = await signed_in_page(chromium, board, users.supervisor)
    first = await open_incident(board, order_id, "sos")
    await row(page, first).wait_for()  # live before the kill

    assert redis_client.client_kill_filter(_type="pubsub") >= 1
    in_the_gap = await open_incident(board, order_id, "long_stop")
    await row(page, in_the_gap).wait_for()  # from the snapshot after the board dropped the socket
    await page.wait_for_selector("#connection[data-state=live]")

    store = board.app[INCIDENT_STORE]
    await store.act(SupervisorAction(action="take", incident_id=first, actor="x", role="admin"), now_ms())
    await page.wait_for_selector(f'tr.incident[data-incident-id="{first}"] td.owner:text-is("x")')
    await screenshot(page, "board-after-resubscribe")
    await page.context.close()


@pytest.mark.parametrize("delay_s", [0, 0.0005, 0.001, 0.002])
async def test_relay_stops_when_cancelled_while_forwarding(settings, redis_server, delay_s):
    """Cancelled while its update reads Redis, the relay still stops (redis-py may swallow the
    cancellation: without `stop_if_cancelled` this hung on every one of these delays)."""
    redis = aioredis.from_url(settings.redis_dsn)
    hub = Hub()

    async def row_for(raw: bytes) -> dict:
        return {}

    async def slow_silences() -> dict:
        for _ in range(50):
            await redis.get(names.SILENCES + ":absent")
        return {"type": "silences"}

    task = asyncio.create_task(relay(redis, hub, row_for, slow_silences))
    try:
        await asyncio.wait_for(hub.subscribed.wait(), 5)
        await redis.publish(names.BOARD_CHANGES, b"silences")
        await asyncio.sleep(delay_s)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=3)
        assert done, "the relay did not stop when cancelled"
        assert task.cancelled()
    finally:
        task.cancel()
        await redis.aclose()
