"""The board in-process on a free port, against the session's Redis, plus users and a browser."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis
from aiohttp import web

from core.ports import free_port
from core.settings import Settings
from dashboard.keys import HUB
from dashboard.main import init_app
from dashboard.users import UserStore
from tests.conftest import ARTIFACTS

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"


@dataclass
class Board:
    url: str
    app: web.Application

    def drop_all_sockets(self) -> None:
        self.app[HUB].drop_all()


@dataclass
class Users:
    supervisor: str
    second: str
    viewer: str
    admin: str
    password: str = PASSWORD


@pytest.fixture(scope="session")
def board_settings(settings: Settings) -> Settings:
    # No tile server: the tests stay on this machine (the map draws on a plain background).
    return settings.replace(signin_max_failures=3, signin_window_s=60, map_tile_url="")


@pytest.fixture(scope="session")
async def board(board_settings: Settings) -> AsyncIterator[Board]:
    app = init_app(board_settings)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    yield Board(f"http://localhost:{port}", app)  # browsers treat localhost as secure
    await runner.cleanup()


@pytest.fixture(scope="session")
async def users(board_settings: Settings) -> AsyncIterator[Users]:
    suffix = uuid.uuid4().hex[:6]
    made = Users(f"sup-{suffix}", f"sup2-{suffix}", f"view-{suffix}", f"admin-{suffix}")
    redis = aioredis.from_url(board_settings.redis_dsn)
    store = UserStore(redis)
    for name, role in ((made.supervisor, "supervisor"), (made.second, "supervisor"),
                       (made.viewer, "viewer"), (made.admin, "admin")):  # fmt: skip
        await store.add(name, PASSWORD, role)
    yield made
    for name in (made.supervisor, made.second, made.viewer, made.admin):
        await store.remove(name)
    await redis.aclose()


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()
