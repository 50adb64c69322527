"""The dependency checks behind /healthz, against the session's real broker and Redis and a port
where nothing listens."""

from __future__ import annotations

import redis.asyncio as aioredis

from core.ports import free_port
from core.probes import check_broker, check_redis
from core.settings import Settings
from tripwatch.embedded import EmbeddedService


async def test_a_running_broker_answers(broker: EmbeddedService):
    check = await check_broker(f"127.0.0.1:{broker.port}")
    assert check.ok and check.error == ""


async def test_a_broker_nobody_listens_for_is_down_and_says_why(broker: EmbeddedService):
    check = await check_broker(f"127.0.0.1:{free_port()}")
    assert not check.ok and "Connect call failed" in check.error


async def test_any_answering_bootstrap_server_will_do(broker: EmbeddedService):
    assert (await check_broker(f"127.0.0.1:{free_port()},127.0.0.1:{broker.port}")).ok


async def test_redis_up_and_down(settings: Settings):
    up = aioredis.from_url(settings.redis_dsn)
    down = aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        assert (await check_redis(up)).ok
        check = await check_redis(down)
        assert not check.ok and check.error.startswith("ConnectionError")
    finally:
        await up.aclose()
        await down.aclose()
