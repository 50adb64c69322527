"""Session fixtures: one real broker (Tansu), one real Redis (Valkey) and one worker per test run.

Tests talk to these real services. Each test uses its own order ids (see `order_id`),
so tests share the services without seeing each other's trips.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis as redis_sync
from aiokafka import AIOKafkaProducer

import monitor.detectors  # noqa: F401  (registers the detectors, as the command line does)
from core.ports import free_port
from core.settings import Settings
from monitor.topics import ensure_topics
from monitor.worker import worker_process
from tests.helpers import Producer
from tripwatch.embedded import EmbeddedService, broker_service, redis_service

# Every test gets a marker (see pytest_collection_modifyitems): `pytest -m unit` runs the tests that
# need no broker, Redis, browser or child process.
SERVICE_FIXTURES = {"broker", "redis_server", "new_stack", "children"}
BROWSER_FIXTURES = {"chromium"}
TEST_KINDS = ("unit", "service", "browser")

ROOT = Path(__file__).resolve().parent.parent
TEST_RULES = Path(__file__).resolve().parent / "rules" / "worker_set"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def service_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def broker(service_dir: Path) -> Iterator[EmbeddedService]:
    service = broker_service("127.0.0.1", free_port(), service_dir / "logs")
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def redis_server(service_dir: Path) -> Iterator[EmbeddedService]:
    service = redis_service("127.0.0.1", free_port(), service_dir / "redis")
    service.start()
    yield service
    service.stop()


# A port nothing listens on: a Redis-only suite that reaches for the broker fails loudly.
NO_BROKER = "kafka://127.0.0.1:9"


@pytest.fixture(scope="session")
def redis_settings(redis_server: EmbeddedService, service_dir: Path) -> Settings:
    """Settings for suites that need Redis only: no broker is started for them."""
    return Settings(
        kafka_url=NO_BROKER,
        redis_url=f"redis://127.0.0.1:{redis_server.port}/0",
        data_dir=service_dir / "data",
        rules_dir=TEST_RULES,
        partitions=4,
        app_id="tripwatch-test",
        session_timeout_s=6.0,
        deadline_tick_s=0.1,
    )


@pytest.fixture(scope="session")
def settings(broker: EmbeddedService, redis_settings: Settings) -> Settings:
    """Settings of the test session's worker: fast test rules, real services."""
    return redis_settings.replace(kafka_url=f"kafka://127.0.0.1:{broker.port}")


@pytest.fixture(scope="session")
def worker(settings: Settings, service_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """One `tripwatch worker` subprocess for the whole session, ready to consume."""
    asyncio.run(ensure_topics(settings))
    with worker_process(settings, service_dir / "worker.log", timeout_s=60) as process:
        yield process


@pytest.fixture
def order_id(request: pytest.FixtureRequest) -> str:
    """A fresh order id per test, so tests never see each other's trips."""
    return f"{request.node.name[:40]}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def redis_client(settings: Settings) -> Iterator[redis_sync.Redis]:
    client = redis_sync.Redis.from_url(settings.redis_dsn)
    yield client
    client.close()


@pytest.fixture
async def producer(settings: Settings) -> AsyncIterator[Producer]:
    """Produces contract events keyed by order_id, as the platform does."""
    kafka = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=1)
    await kafka.start()
    yield Producer(kafka)
    await kafka.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test from the fixtures it uses: browser (Chromium), service (broker, Redis or
    its own processes; a module that starts services itself says so with `pytestmark`), else unit."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if any(item.get_closest_marker(kind) for kind in TEST_KINDS):
            continue
        item.add_marker(pytest.mark.service if used & SERVICE_FIXTURES else pytest.mark.unit)


@pytest.fixture
async def running_outreach(settings: Settings, redis_server: EmbeddedService) -> AsyncIterator[object]:
    """`tripwatch outreach` in-process, on the worker's Redis, delivering to fake providers."""
    from notifiers.process import serve
    from tests.notifiers import fakes
    from tests.notifiers.conftest import outreach_settings_for

    providers = fakes.Providers()
    runner = await fakes.start(providers)
    values = {"redis_url": settings.redis_url, "kafka_url": settings.kafka_url, "outreach_group_wait_s": 0.0,
              "outreach_tick_s": 0.1, "app_id": f"told-first-{uuid.uuid4().hex[:6]}"}  # fmt: skip
    outreach_settings = outreach_settings_for(settings, redis_server.port, providers).replace(**values)
    stop = asyncio.Event()
    task = asyncio.ensure_future(serve(outreach_settings, stop))
    yield providers
    stop.set()
    await asyncio.wait_for(task, 30)
    await runner.cleanup()
