"""The board's aiohttp application factory and runner."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
import redis.asyncio as aioredis
from aiohttp import web

from core.incident_store import IncidentStore
from core.settings import Settings
from core.supervision import BOARD_ACTIONS, offered
from core.supervision import as_json as actions_json
from dashboard import api, health, incident_page, live, rules_views, silence_views, trip, views
from dashboard.access import SessionStore, SigninThrottle
from dashboard.hub import Hub, relay
from dashboard.keys import (
    CONTENT_POLICY,
    HUB,
    INCIDENT_STORE,
    METRICS,
    PUBLISHER,
    REDIS,
    ROWS,
    SESSIONS,
    SETTINGS,
    THROTTLE,
    USERS,
)
from dashboard.metrics import BoardMetrics
from dashboard.middlewares import (
    authenticate,
    content_policy,
    csrf,
    redis_unavailable,
    security_headers,
    server_headers,
)
from dashboard.publish import IncidentPublisher
from dashboard.rows import RowSource
from dashboard.users import UserStore

HERE = Path(__file__).resolve().parent


def init_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[security_headers, redis_unavailable, authenticate, csrf], client_max_size=64 * 1024
    )
    app[SETTINGS] = settings
    app[CONTENT_POLICY] = content_policy(settings.map_tile_url)
    app.on_response_prepare.append(server_headers)
    app[HUB] = Hub()
    app[METRICS] = BoardMetrics()
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    # the supervisor actions, declared once (core/supervision.py): pages and scripts draw from it
    env.globals |= {"offered": offered, "board_actions": BOARD_ACTIONS, "board_actions_json": actions_json()}
    app.cleanup_ctx.append(_redis)
    app.cleanup_ctx.append(_relay)
    app.cleanup_ctx.append(_publisher)
    app.cleanup_ctx.append(health.health_ctx)
    app.add_routes(views.routes)
    app.add_routes(api.routes)
    app.add_routes(silence_views.routes)
    app.add_routes(live.routes)
    app.add_routes(health.routes)
    app.add_routes(trip.routes)
    app.add_routes(incident_page.routes)
    app.add_routes(rules_views.routes)  # the rules page (rules/overview.py)
    app.router.add_static("/static/", HERE / "static")
    return app


async def _redis(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    client = aioredis.from_url(settings.redis_dsn)
    app[REDIS] = client
    app[INCIDENT_STORE] = IncidentStore(client)
    app[USERS] = UserStore(client)
    app[SESSIONS] = SessionStore(client, settings.session_ttl_s)
    app[THROTTLE] = SigninThrottle(client, settings.signin_max_failures, settings.signin_window_s)
    app[ROWS] = RowSource(client, settings)
    yield
    await client.aclose()


async def _relay(app: web.Application) -> AsyncIterator[None]:
    """Redis pub/sub -> every browser of this process (see dashboard.hub)."""
    task = asyncio.create_task(
        relay(app[REDIS], app[HUB], lambda raw: api.live_row(app, raw), lambda: api.silences_message(app))
    )
    yield
    app[HUB].drop_all()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _publisher(app: web.Application) -> AsyncIterator[None]:
    publisher = IncidentPublisher(app[SETTINGS])
    await publisher.start()
    app[PUBLISHER] = publisher
    yield
    await publisher.stop()


def run_dashboard(settings: Settings) -> None:
    web.run_app(init_app(settings), host=settings.dashboard_host, port=settings.dashboard_port, print=None)
