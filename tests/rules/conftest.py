"""Fixtures of the rule tests: an asyncio Redis client on a database of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from core.settings import Settings


@pytest.fixture
async def private_redis(redis_settings: Settings) -> AsyncIterator[aioredis.Redis]:
    """Redis database 7, emptied: rule-set keys here never reach the session worker (database 0)."""
    client = aioredis.from_url(redis_settings.redis_dsn.rsplit("/", 1)[0] + "/7")
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


PASSWORD = "rules page test password"


@pytest.fixture
async def rules_board(private_redis: aioredis.Redis, settings: Settings) -> AsyncIterator[tuple[str, str]]:
    """The board in-process on its own Redis database, with a signed-up viewer: (url, user).
    The board starts a producer at start-up: it needs the broker too."""
    from aiohttp import web

    from core.ports import free_port
    from dashboard.main import init_app
    from dashboard.users import UserStore

    board_settings = settings.replace(redis_url=settings.redis_dsn.rsplit("/", 1)[0] + "/7")
    await UserStore(private_redis).add("rules-viewer", PASSWORD, "viewer")
    runner = web.AppRunner(init_app(board_settings))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://localhost:{port}", "rules-viewer"
    await runner.cleanup()
