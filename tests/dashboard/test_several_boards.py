"""Two dashboard processes on one Redis: an action on one reaches the browsers of the other."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import orjson
import pytest
from aiohttp import web

from core import names
from core.incidents import IncidentChange, incident_id_for
from core.ports import free_port
from dashboard.keys import INCIDENT_STORE
from dashboard.main import init_app
from tests.dashboard.conftest import Board
from tests.dashboard.test_access import sign_in
from tests.helpers import consume_until


@pytest.fixture
async def other_board(board_settings) -> AsyncIterator[Board]:
    runner = web.AppRunner(init_app(board_settings))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield Board(f"http://localhost:{port}", runner.app)
    await runner.cleanup()


async def next_message(ws, predicate, timeout_s: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        message = orjson.loads(await asyncio.wait_for(ws.receive_str(), deadline - time.monotonic()))
        if predicate(message):
            return message


async def test_action_on_one_board_reaches_the_other_within_a_second(
    board, other_board, users, order_id, board_settings
):
    await board.app[INCIDENT_STORE].apply(
        IncidentChange(action="open", kind="long_stop", order_id=order_id, severity="critical"),
        int(time.time() * 1000),
    )
    incident_id = incident_id_for(order_id, "long_stop")
    acting, _, csrf = await sign_in(board, users.supervisor)
    watching, _, _ = await sign_in(other_board, users.viewer)
    async with acting, watching:
        ws = await watching.ws_connect("/ws", headers={"Origin": other_board.url})
        snapshot = await next_message(ws, lambda m: m["type"] == "snapshot")
        assert incident_id in {r["incident_id"] for r in snapshot["rows"]}
        started = time.monotonic()
        headers = {"Origin": board.url, "X-CSRF-Token": csrf}
        async with acting.post(
            f"/api/incidents/{incident_id}/acknowledge", json={}, headers=headers
        ) as response:
            assert response.status == 200
        update = await next_message(
            ws, lambda m: m["type"] == "incident" and m["row"]["incident_id"] == incident_id
        )
        elapsed = time.monotonic() - started
        assert update["row"]["status"] == "acknowledged" and update["row"]["acked_by"] == users.supervisor
        assert elapsed < 1.0
        on_topic = await consume_until(
            board_settings, names.INCIDENTS, lambda m: m["incident_id"] == incident_id and m["revision"] == 2
        )
        assert on_topic["status"] == "acknowledged"  # other systems (outreach) learn of it too

        async with acting.post("/api/silences", json={"kind": "trip_delay", "minutes": 30},
                               headers=headers) as response:  # fmt: skip
            silence_id = (await response.json())["silence_id"]
        update = await next_message(ws, lambda m: m["type"] == "silences")
        assert silence_id in {s["silence_id"] for s in update["silences"]}
        async with acting.delete(f"/api/silences/{silence_id}", headers=headers) as response:
            assert response.status == 200
        update = await next_message(ws, lambda m: m["type"] == "silences")
        assert silence_id not in {s["silence_id"] for s in update["silences"]}
        await ws.close()
