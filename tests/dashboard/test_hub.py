"""The hub's fan-out: a slow browser is dropped instead of delaying the others."""

from __future__ import annotations

import asyncio
import time

from dashboard.hub import Client, Hub


async def test_slow_browser_delays_nobody_and_is_dropped():
    received: list[str] = []
    stuck = asyncio.Event()  # never set: this browser never finishes a send

    async def fast_send(text: str) -> None:
        received.append(text)

    async def slow_send(text: str) -> None:
        await stuck.wait()

    hub = Hub()
    fast, slow = Client(fast_send, True, 64), Client(slow_send, True, 64)
    hub.add(fast)
    hub.add(slow)
    pumps = [asyncio.ensure_future(fast.pump("snapshot")), asyncio.ensure_future(slow.pump("snapshot"))]

    started = time.perf_counter()
    for n in range(1000):
        hub.broadcast({"type": "incident", "n": n})
        if n % 50 == 0:
            await asyncio.sleep(0)  # let the fast browser's pump run, as the event loop would
    broadcast_s = time.perf_counter() - started
    while fast.queue.qsize():
        await asyncio.sleep(0)

    assert len(received) == 1001 and received[-1] == '{"type":"incident","n":999}'
    assert slow.dropped.is_set() and slow not in hub.clients and fast in hub.clients
    assert broadcast_s < 0.5, broadcast_s
    for pump in pumps:
        pump.cancel()
    await asyncio.gather(*pumps, return_exceptions=True)


async def test_rows_go_out_masked_to_roles_that_may_not_see_phones():
    hub = Hub()
    supervisor, viewer = Client(_noop, True, 8), Client(_noop, False, 8)
    hub.add(supervisor)
    hub.add(viewer)
    hub.broadcast_row({"incident_id": "o:sos", "details": {"driver": {"phone": "+4915199999999"}}})
    assert "+4915199999999" in supervisor.queue.get_nowait()
    masked = viewer.queue.get_nowait()
    assert "+4915199999999" not in masked and "99" in masked


async def _noop(_text: str) -> None:
    return None
