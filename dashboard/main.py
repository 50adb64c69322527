"""The board's aiohttp application factory and runner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
import redis.asyncio as aioredis
from aiohttp import web

from dashboard import views
from dashboard.keys import INCIDENT_STORE, SETTINGS
from monitor.incident_store import IncidentStore
from monitor.settings import Settings

TEMPLATES = Path(__file__).resolve().parent / "templates"


def init_app(settings: Settings) -> web.Application:
    app = web.Application()
    app[SETTINGS] = settings
    aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(default=True)
    )
    app.cleanup_ctx.append(_redis)
    app.add_routes(views.routes)
    return app


async def _redis(app: web.Application) -> AsyncIterator[None]:
    client = aioredis.from_url(app[SETTINGS].redis_dsn)
    app[INCIDENT_STORE] = IncidentStore(client)
    yield
    await client.aclose()


def run_dashboard(settings: Settings) -> None:
    web.run_app(init_app(settings), host=settings.dashboard_host, port=settings.dashboard_port, print=None)
