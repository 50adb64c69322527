"""Cheap checks of Tripwatch's dependencies, each bounded by a short timeout.

Redis: a PING. The broker: one metadata request on a fresh connection, as a client's
bootstrap does, without starting a client (no background task, no retry loop to stop).
A check never raises: a failure is a `Check` with the error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

import redis.asyncio as aioredis
from aiokafka.conn import create_conn
from aiokafka.protocol.metadata import MetadataRequest

from core.health import PROBE_TIMEOUT_S, Check


async def timed(action: Awaitable[object], timeout_s: float) -> Check:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(action, timeout_s)
    except Exception as error:  # whatever failed, the dependency is not usable now
        return Check(False, _ms_since(started), _describe(error, timeout_s))
    return Check(True, _ms_since(started))


async def check_redis(redis: aioredis.Redis, timeout_s: float = PROBE_TIMEOUT_S) -> Check:
    return await timed(redis.ping(), timeout_s)


async def check_broker(bootstrap: str, timeout_s: float = PROBE_TIMEOUT_S) -> Check:
    """Reached when any bootstrap server answers a metadata request."""
    last = Check(False, 0.0, "no bootstrap server")
    for server in bootstrap.split(","):
        last = await timed(_metadata(server.strip(), timeout_s), timeout_s)
        if last.ok:
            return last
    return last


async def _metadata(server: str, timeout_s: float) -> None:
    host, _, port = server.rpartition(":")
    conn = await create_conn(
        host, int(port), client_id="tripwatch-health", request_timeout_ms=int(timeout_s * 1000)
    )
    try:
        await conn.send(MetadataRequest([]))
    finally:
        conn.close()


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _describe(error: Exception, timeout_s: float) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout_s:g} s"
    return f"{type(error).__name__}: {error}"[:300]
