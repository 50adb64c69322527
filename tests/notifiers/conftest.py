"""Fixtures for outreach tests: provider fakes on a free port, settings pointing at them, a
Redis database of outreach's own (flushed per test), a hand-driven clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import msgspec
import pytest
import redis.asyncio as aioredis

from core import names
from core.models import Passenger
from core.settings import Settings
from tests.notifiers import fakes
from tripwatch.embedded import EmbeddedService

OUTREACH_DB = 7


class Clock:
    def __init__(self, start_ms: int = 1_800_000_000_000) -> None:
        self.now = start_ms

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)


@pytest.fixture(scope="session")
async def provider_server() -> AsyncIterator[fakes.Providers]:
    providers = fakes.Providers()
    runner = await fakes.start(providers)
    yield providers
    await runner.cleanup()


@pytest.fixture
def providers(provider_server: fakes.Providers) -> Iterator[fakes.Providers]:
    provider_server.reset()
    yield provider_server
    provider_server.reset()


def outreach_settings_for(
    base: Settings, redis_port: int, providers: fakes.Providers, **extra: object
) -> Settings:
    values = {
        "redis_url": f"redis://127.0.0.1:{redis_port}/{OUTREACH_DB}",
        "fcm_base_url": providers.base,
        "fcm_project": fakes.FCM_PROJECT,
        "fcm_access_token": fakes.FCM_TOKEN,
        "twilio_base_url": providers.base,
        "twilio_account_sid": fakes.SID,
        "twilio_auth_token": fakes.TOKEN,
        "twilio_from": "+15550001111",
        "webhook_url": providers.base + "/hooks/passenger",
        "webhook_secret": fakes.WEBHOOK_SECRET,
        "pagerduty_url": providers.base + "/v2/enqueue",
        "outreach_group_wait_s": 30.0,
        "outreach_retry_base_s": 0.05,
        "outreach_retry_max_s": 0.2,
        "outreach_max_attempts": 3,
        "outreach_http_timeout_s": 1.0,
        "outreach_lease_s": 3.0,
        "outreach_port": 0,
        **extra,
    }
    return base.replace(**values)


@pytest.fixture
def outreach_settings(
    redis_settings: Settings, redis_server: EmbeddedService, providers: fakes.Providers
) -> Settings:
    """Redis only: a test that also reads or writes topics takes `settings` for its `kafka_url`."""
    return outreach_settings_for(redis_settings, redis_server.port, providers)


@pytest.fixture
async def redis(outreach_settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(outreach_settings.redis_dsn)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def add_passenger(redis: aioredis.Redis, passenger: Passenger) -> None:
    await redis.set(names.passenger_key(passenger.passenger_id), msgspec.json.encode(passenger))
