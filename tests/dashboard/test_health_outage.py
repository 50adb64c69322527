"""/healthz on the worker and the board, and the board's banner, through a real Redis outage.

This module runs its own broker, Redis, worker and board: stopping the session's Redis would
break every other test. The worker serves /metrics and /healthz on a free port.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from core import names
from core.ports import free_port
from core.settings import Settings
from dashboard.access import COOKIE
from dashboard.main import init_app
from dashboard.users import UserStore
from monitor.topics import ensure_topics
from monitor.worker import worker_process
from tests.conftest import TEST_RULES
from tests.dashboard.browser import eventually, screenshot, signed_in_page
from tests.dashboard.conftest import PASSWORD, Board
from tripwatch.embedded import EmbeddedService, broker_service, redis_service

# Starts its own services or tripwatch processes.
pytestmark = pytest.mark.service

REDIS_DOWN = "Tripwatch cannot reach Redis; retrying"
OUTAGE_TIMEOUT_S = 30.0  # a refresh every 2 s; generous for a loaded machine


@dataclass
class Stack:
    settings: Settings
    broker: EmbeddedService
    redis: EmbeddedService
    worker: Any

    @property
    def worker_health_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.worker_metrics_port}/healthz"

    def kill_redis(self) -> None:
        """kill -9, as the outage on main was measured."""
        assert self.redis.process is not None
        os.kill(self.redis.pid, signal.SIGKILL)
        self.redis.process.wait()

    def kill_broker(self) -> None:
        assert self.broker.process is not None
        os.kill(self.broker.pid, signal.SIGKILL)
        self.broker.process.wait()

    def restart_redis(self) -> None:
        if self.redis.process is None or self.redis.process.poll() is not None:
            self.redis.start()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("health")
    with broker_service("127.0.0.1", free_port(), base / "logs") as broker, \
         redis_service("127.0.0.1", free_port(), base / "redis") as redis:  # fmt: skip
        settings = Settings(
            kafka_url=f"kafka://127.0.0.1:{broker.port}",
            redis_url=f"redis://127.0.0.1:{redis.port}/0",
            data_dir=base / "data",
            rules_dir=TEST_RULES,
            partitions=2,
            app_id="tripwatch-health",
            session_timeout_s=6.0,
            worker_metrics_port=free_port(),
        )
        asyncio.run(ensure_topics(settings))
        with worker_process(settings, base / "worker.log", timeout_s=60) as worker:
            stack = Stack(settings, broker, redis, worker)
            yield stack
            stack.restart_redis()  # for a clean shutdown of the worker


@pytest.fixture(scope="module")
async def own_board(stack: Stack) -> AsyncIterator[Board]:
    runner = web.AppRunner(init_app(stack.settings))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield Board(f"http://localhost:{port}", runner.app)
    await runner.cleanup()


@pytest.fixture(scope="module")
async def supervisor(stack: Stack) -> AsyncIterator[str]:
    redis = aioredis.from_url(stack.settings.redis_dsn)
    await UserStore(redis).add("health-sup", PASSWORD, "supervisor")
    yield "health-sup"
    await redis.aclose()


@pytest.fixture
def redis_back(stack: Stack) -> Iterator[None]:
    """Whatever a test does to Redis, the next test finds it running."""
    yield
    stack.restart_redis()


async def fetch(url: str, cookies: dict[str, str] | None = None) -> tuple[int, str, str]:
    async with (
        aiohttp.ClientSession(cookies=cookies) as client,
        client.get(url, allow_redirects=False) as response,
    ):
        return response.status, response.content_type, await response.text()


async def health(url: str) -> tuple[int, dict[str, Any]]:
    status, _, text = await fetch(url)
    return status, orjson.loads(text)


async def until_health(url: str, status: int, timeout_s: float = OUTAGE_TIMEOUT_S) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        answered, body = await health(url)
        return body if answered == status else None

    return await eventually(check, timeout_s)


async def test_a_healthy_worker_and_board_answer_200(stack: Stack, own_board: Board):
    worker = await until_health(stack.worker_health_url, 200)
    assert worker["status"] == "ok", worker
    assert worker["redis"]["ok"] and worker["broker"]["ok"]
    assert worker["consumer"]["assigned_partitions"] == len(names.INPUT_TOPICS) * stack.settings.partitions
    assert worker["consumer_lag"]["total"] == 0

    async def worker_reported() -> dict[str, Any] | None:
        _, body = await health(own_board.url + "/healthz")
        return body if body.get("workers", {}).get("reporting") == 1 else None

    board = await eventually(worker_reported, OUTAGE_TIMEOUT_S)
    assert board["status"] == "ok", board
    assert board["redis"]["ok"] and board["broker"]["ok"]


async def test_a_redis_outage_is_a_clear_503_everywhere_then_recovers(
    stack: Stack, own_board: Board, redis_back
):
    await until_health(own_board.url + "/healthz", 200)
    stack.kill_redis()

    board = await until_health(own_board.url + "/healthz", 503)
    assert board["status"] == "down" and board["redis"]["ok"] is False
    assert board["message"] == REDIS_DOWN
    status, content_type, text = await fetch(own_board.url + "/login")
    assert (status, content_type) == (503, "text/html")  # on main: 500
    assert REDIS_DOWN in text
    status, content_type, text = await fetch(own_board.url + "/api/board", {COOKIE: "a-session-token"})
    assert (status, content_type) == (503, "application/json")
    assert orjson.loads(text)["error"] == REDIS_DOWN
    worker = await until_health(stack.worker_health_url, 503)
    assert worker["redis"]["ok"] is False and worker["broker"]["ok"] is True
    assert stack.worker.poll() is None

    started = time.monotonic()
    stack.restart_redis()
    await until_health(own_board.url + "/healthz", 200)
    assert (await fetch(own_board.url + "/login"))[0] == 200
    await until_health(stack.worker_health_url, 200)
    print(f"healthy again {time.monotonic() - started:.1f} s after Redis restarted")


async def test_the_board_shows_disconnected_while_redis_is_away(
    stack: Stack, own_board: Board, supervisor: str, chromium, redis_back
):
    page = await signed_in_page(chromium, own_board, supervisor)
    banner = page.locator("#health")
    await banner.wait_for(state="hidden")

    stack.redis.stop()  # graceful: the sign-in session must still be there afterwards
    await page.wait_for_selector("#connection[data-state=reconnecting]", timeout=20_000)
    await banner.wait_for(state="visible")
    assert (await banner.inner_text()).startswith("Disconnected — reconnecting…")
    await page.wait_for_function(
        "(text) => document.getElementById('health').textContent.includes(text)",
        arg=REDIS_DOWN,
        timeout=20_000,
    )
    await screenshot(page, "board-disconnected")

    stack.restart_redis()
    await page.wait_for_selector("#connection[data-state=live]", timeout=30_000)
    await banner.wait_for(state="hidden", timeout=20_000)
    await page.context.close()


async def test_the_board_says_when_the_workers_are_catching_up(
    stack: Stack, own_board: Board, supervisor: str, chromium
):
    """A worker's report (its format is checked against a real worker above) with a backlog."""
    redis = aioredis.from_url(stack.settings.redis_dsn)
    report = {"at": int(time.time() * 1000), "lag": {"telemetry": 4_321}, "assigned": 1}
    try:
        await redis.hset(names.WORKER_HEALTH, "catching-up-test", orjson.dumps(report))
        board = await until_health(own_board.url + "/healthz", 200)
        page = await signed_in_page(chromium, own_board, supervisor)
        await page.wait_for_function(
            "() => document.getElementById('health').dataset.state === 'catching_up'", timeout=20_000
        )
        text = await page.locator("#health").inner_text()
        assert text.startswith("Catching up: 4321 events behind"), (text, board)
        await screenshot(page, "board-catching-up")
        await page.context.close()
    finally:
        await redis.hdel(names.WORKER_HEALTH, "catching-up-test")
        await redis.aclose()


async def test_a_broker_outage_is_a_503_on_both_then_the_board_recovers(stack: Stack, own_board: Board):
    """Last in this module: the memory-only broker loses its topics, so the worker is left as it is
    (bringing it back after a broker restart is the supervisor's job, not its health check's)."""
    await until_health(own_board.url + "/healthz", 200)
    stack.kill_broker()
    board = await until_health(own_board.url + "/healthz", 503)
    assert board["broker"]["ok"] is False and board["redis"]["ok"] is True
    assert board["message"] == "Tripwatch cannot reach the event broker; retrying"
    worker = await until_health(stack.worker_health_url, 503)
    assert worker["broker"]["ok"] is False
    stack.broker.start()
    await until_health(own_board.url + "/healthz", 200)
