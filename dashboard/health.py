"""The board's `/healthz`: Redis, the broker, the workers' lag and the embedded broker's load,
judged by core.health.

A task refreshes the snapshot every few seconds, so a request (each open board polls it)
costs no I/O. The workers' side comes from their reports in Redis (monitor.worker_health):
how many are alive and how many input events they have not read yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
import redis.asyncio as aioredis
from aiohttp import web

from core import names
from core.clock import now_ms
from core.health import PROBE_TIMEOUT_S, REFRESH_S, Latest, Snapshot, report, workers_lag
from core.probes import check_broker, check_redis
from core.replies import as_bytes
from dashboard.hub import stop_if_cancelled
from dashboard.keys import HEALTH, REDIS, SETTINGS

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
FORGET_WORKER_AFTER_MS = 3_600_000  # a report this old is from a worker that is gone for good


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    status, body = report(request.app[HEALTH].snapshot, now_ms())
    return web.json_response(body, status=status)


async def take(app: web.Application) -> Snapshot:
    redis = app[REDIS]
    redis_check = await check_redis(redis)
    broker_check = await check_broker(app[SETTINGS].kafka_bootstrap)
    workers, lag = await workers_seen(redis) if redis_check.ok else (None, None)
    warning = await broker_warning(redis) if redis_check.ok else None
    return Snapshot(now_ms(), redis_check, broker_check, lag=lag, workers=workers, broker_warning=warning)


async def broker_warning(redis: aioredis.Redis) -> str | None:
    """What `tripwatch up` says of its embedded broker near its limit (tripwatch.broker_watch)."""
    try:
        raw = await asyncio.wait_for(redis.get(names.BROKER_HEALTH), PROBE_TIMEOUT_S)
    except Exception:  # Redis went away since its PING: no news
        return None
    message = _decode(as_bytes(raw)).get("message") if raw else None
    return str(message) if message else None


async def workers_seen(redis: aioredis.Redis) -> tuple[int | None, dict[str, int] | None]:
    try:
        raw = await asyncio.wait_for(redis.hgetall(names.WORKER_HEALTH), PROBE_TIMEOUT_S)
    except Exception:  # Redis went away since its PING: unknown, not "no worker"
        return None, None
    now = now_ms()
    reports = {worker: _decode(as_bytes(entry)) for worker, entry in raw.items()}
    gone = [
        worker for worker, entry in reports.items() if now - int(entry.get("at", 0)) > FORGET_WORKER_AFTER_MS
    ]
    if gone:
        await redis.hdel(names.WORKER_HEALTH, *gone)
    return workers_lag(list(reports.values()), now)


def _decode(entry: bytes) -> dict[str, Any]:
    try:
        decoded = orjson.loads(entry)
    except orjson.JSONDecodeError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


async def refresh_forever(app: web.Application) -> None:
    while True:
        await asyncio.sleep(REFRESH_S)
        stop_if_cancelled()  # redis-py can swallow a cancellation (see dashboard.hub)
        try:
            app[HEALTH].snapshot = await take(app)
        except Exception:  # health must never stop the board
            log.warning("health refresh failed", exc_info=True)


async def health_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: a first snapshot before serving (no 'starting' answer), then a refresher."""
    app[HEALTH] = Latest(await take(app))
    task = asyncio.create_task(refresh_forever(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
