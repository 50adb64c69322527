"""The board's websocket: authenticated, origin-checked; a snapshot, then live updates."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

import orjson
from aiohttp import WSCloseCode, WSMsgType, web

from dashboard.access import Session
from dashboard.api import snapshot
from dashboard.hub import Client
from dashboard.keys import HUB, METRICS, SESSIONS, SETTINGS, session_of
from dashboard.middlewares import same_origin, still_allowed

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
SEND_TIMEOUT_S = 10.0
SUBSCRIBE_WAIT_S = 5.0
SESSION_CHECK_S = 1.0  # a removed, signed-out, expired or re-roled user loses the stream this fast
SIGNED_OUT = 4001  # the browser goes to the sign-in page instead of reconnecting


@routes.get("/ws")
async def live(request: web.Request) -> web.WebSocketResponse:
    if not same_origin(request):
        raise web.HTTPForbidden(text="cross-origin websocket refused")
    session, hub, metrics = session_of(request), request.app[HUB], request.app[METRICS]
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
    await ws.prepare(request)
    client = Client(lambda text: _send(ws, text), session.can_see_phones, request.app[SETTINGS].ws_queue_size)
    try:
        await asyncio.wait_for(hub.subscribed.wait(), SUBSCRIBE_WAIT_S)
    except TimeoutError:  # Redis is away: the browser retries
        await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"updates unavailable")
        return ws
    hub.add(client)  # before the snapshot is read: nothing can fall in between
    metrics.clients.inc()
    try:
        first = orjson.dumps(await snapshot(request)).decode()
        if await _serve(ws, client, first, _session_ends(request, session)):
            await ws.close(code=SIGNED_OUT, message=b"signed out")
    finally:
        hub.remove(client)
        metrics.clients.dec()
        if client.dropped.is_set():
            metrics.dropped.inc()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 2.0)
    return ws


async def _serve(
    ws: web.WebSocketResponse, client: Client, first: str, session_ends: Awaitable[None]
) -> bool:
    """Run until the browser leaves, the pump fails, the hub drops the client or the session
    ends; True when the session ended."""
    ended = asyncio.ensure_future(session_ends)
    tasks = {
        asyncio.ensure_future(client.pump(first)),
        asyncio.ensure_future(_read(ws)),
        asyncio.ensure_future(client.dropped.wait()),
        ended,
    }
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return ended.done() and not ended.cancelled() and ended.exception() is None


async def _session_ends(request: web.Request, session: Session) -> None:
    """Return once the session is gone (signed out, expired) or its user removed or re-roled.

    Identity is checked again every second, not only when the socket opens.
    """
    sessions = request.app[SESSIONS]
    while True:
        await asyncio.sleep(SESSION_CHECK_S)
        current = await sessions.get(session.token)
        if current is None or not await still_allowed(request, current):
            log.info("closing the board stream of %s: the session ended", session.user)
            return


async def _send(ws: web.WebSocketResponse, text: str) -> None:
    await asyncio.wait_for(ws.send_str(text), SEND_TIMEOUT_S)


async def _read(ws: web.WebSocketResponse) -> None:
    """The browser sends nothing we need; read to notice it leaving."""
    async for message in ws:
        if message.type == WSMsgType.ERROR:
            return
