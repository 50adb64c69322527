"""The stop check-in's answer, end to end: a real broker, a real Redis, a `tripwatch worker` on the
built-in pack and outreach in-process. "Help" (an SMS reply, delivered twice) or no answer in
time raises the critical long_stop at once, exactly once (core/checkin.py)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import orjson
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from core import names
from core.models import Passenger
from core.ports import free_port
from core.settings import Settings
from monitor.topics import ensure_topics
from monitor.worker import worker_process
from notifiers.inbound import INBOUND_PATH, twilio_signature
from tests.helpers import Producer, consume_until, now_ms
from tests.monitor.trips import DROPOFF, PICKUP, ROUTE, on_route
from tests.notifiers import fakes
from tripwatch.embedded import broker_service, redis_service

# Starts its own services and a worker process.
pytestmark = pytest.mark.service

PACK = Path(__file__).resolve().parents[2] / "rules" / "pack"
SAFETY = "f" * 32
CHECKIN_SMS = (
    "Anna, we see your car has been stopped for a while. All well? Reply 1 I'm OK, 2 Get help,"
    " 3 Report a problem, 4 Share my trip."
)
STOOD_S = 240  # past the check-in's 3 min, short of long_stop's 10 min on the route


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A broker, a Redis and a worker on the built-in pack of this module's own."""
    base = tmp_path_factory.mktemp("checkin")
    broker = broker_service("127.0.0.1", free_port(), base / "logs")
    redis = redis_service("127.0.0.1", free_port(), base / "redis")
    broker.start()
    redis.start()
    try:
        settings = Settings(
            kafka_url=f"kafka://127.0.0.1:{broker.port}",
            redis_url=f"redis://127.0.0.1:{redis.port}/0",
            data_dir=base / "data",
            rules_dir=PACK,
            partitions=2,
            app_id="tripwatch-checkin",
            session_timeout_s=6.0,
            deadline_tick_s=0.1,
        )
        asyncio.run(ensure_topics(settings))
        with worker_process(settings, base / "worker.log", timeout_s=90):
            yield settings
    finally:
        redis.stop()
        broker.stop()


Outreach = Callable[[float], Awaitable[tuple[Settings, fakes.Providers]]]


@pytest.fixture
async def outreach(stack: Settings) -> AsyncIterator[Outreach]:
    """Starts `tripwatch outreach` in-process on the stack with this check-in timeout: replies
    taken on a port, providers faked."""
    from notifiers.process import serve

    stops: list[tuple[asyncio.Event, asyncio.Future[None], Any]] = []

    async def start(checkin_timeout_s: float) -> tuple[Settings, fakes.Providers]:
        providers = fakes.Providers()
        runner = await fakes.start(providers)
        settings = stack.replace(
            twilio_base_url=providers.base, twilio_account_sid=fakes.SID, twilio_auth_token=fakes.TOKEN,
            twilio_from="+15550001111", pagerduty_url=providers.base + "/v2/enqueue",
            escalation_levels=f"{fakes.ROUTING_KEYS[0]}@60", page_routes=f"safety={SAFETY}",
            checkin_timeout_s=checkin_timeout_s, outreach_group_wait_s=0.0, outreach_tick_s=0.1,
            outreach_port=free_port(), app_id=f"checkin-{uuid.uuid4().hex[:6]}",
        )  # fmt: skip
        stop = asyncio.Event()
        stops.append((stop, asyncio.ensure_future(serve(settings, stop)), runner))
        return settings, providers

    yield start
    for stop, task, runner in stops:
        stop.set()
        await asyncio.wait_for(task, 30)
        await runner.cleanup()


@pytest.fixture
async def redis(stack: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(stack.redis_dsn)
    yield client
    await client.aclose()


@pytest.fixture
async def producer(stack: Settings) -> AsyncIterator[Producer]:
    kafka = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, linger_ms=1)
    await kafka.start()
    yield Producer(kafka)
    await kafka.stop()


async def eventually(check: Callable[[], Awaitable[Any]], timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise TimeoutError(f"condition not met within {timeout_s} s")


async def stopped_on_the_route(producer: Producer, redis: aioredis.Redis, order: str, phone: str) -> None:
    """A trip whose car has stood on its planned route for STOOD_S (event time, up to now). The
    pings go first and the trip's start after them: the worker judges pings read before their
    `trip.started` in time order when it comes, so no deadline (signal_lost) fires in between on
    a partition read ahead of the other topic."""
    passenger = Passenger(passenger_id=f"p-{order}", name="Anna", locale="en", phone=phone)
    await redis.set(names.passenger_key(passenger.passenger_id), msgspec.json.encode(passenger))
    start = now_ms() - (STOOD_S + 30) * 1000
    for second in range(30, STOOD_S + 31, 20):  # 13 pings: the trip state keeps the last 16
        point = on_route(0.3)
        ping = {"order_id": order, "driver_id": "d-1", "ts": start + second * 1000, "lat": point[0],
                "lon": point[1], "speed_kmh": 0.0, "accuracy_m": 5.0}  # fmt: skip
        await producer.send(names.TELEMETRY, order, ping)

    async def trip(n: int, kind: str, **fields: Any) -> None:
        event = {"event_id": f"{order}-{n}", "type": kind, "order_id": order, "ts": start + n, **fields}
        await producer.send(names.TRIP_EVENTS, order, event)

    await trip(1, "order.created", passenger_id=passenger.passenger_id, promised_pickup_ts=start + 600_000,
               pickup={"lat": PICKUP[0], "lon": PICKUP[1]}, dropoff={"lat": DROPOFF[0], "lon": DROPOFF[1]})  # fmt: skip
    await trip(2, "trip.started", eta_dropoff_ts=start + 1_800_000, route=ROUTE)


async def incident(redis: aioredis.Redis, order: str, kind: str) -> dict[str, Any] | None:
    raw = await redis.get(names.incident_key(f"{order}:{kind}"))
    return orjson.loads(raw) if raw else None


async def published(settings: Settings, incident_id: str, settle_s: float = 2.0) -> list[dict[str, Any]]:
    """Every revision of `incident_id` on the `incidents` topic, read to its end."""
    consumer = AIOKafkaConsumer(names.INCIDENTS, bootstrap_servers=settings.kafka_bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False, fetch_max_wait_ms=50)  # fmt: skip
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        quiet_until = time.monotonic() + settle_s
        while time.monotonic() < quiet_until:
            batches = await consumer.getmany(timeout_ms=200)
            for messages in batches.values():
                found += [orjson.loads(m.value) for m in messages if m.key == incident_id.encode()]
                quiet_until = time.monotonic() + settle_s
    finally:
        await consumer.stop()
    return found


async def reply(settings: Settings, phone: str, body: str, sid: str) -> None:
    url = f"http://127.0.0.1:{settings.outreach_port}{INBOUND_PATH}"
    form = {"From": phone, "Body": body, "MessageSid": sid}
    headers = {"X-Twilio-Signature": twilio_signature(fakes.TOKEN, url, form)}
    async with aiohttp.ClientSession() as http, http.post(url, data=form, headers=headers) as response:
        assert response.status == 200


async def long_stop_messages(redis: aioredis.Redis, order: str) -> list[str]:
    ids = await redis.zrange(names.OUTBOX_BY_ORDER + order, 0, -1)
    return [i.decode() for i in ids if i.decode().startswith(f"{order}:long_stop:")]


async def page_triggers(redis: aioredis.Redis, order: str) -> list[str]:
    ids = [i.decode() for i in await redis.zrange(names.OUTBOX_BY_ORDER + order, 0, -1)]
    return [i for i in ids if ":page:" in i and i.endswith(":trigger")]


async def test_help_raises_the_critical_long_stop_at_once_and_once(outreach, redis, producer) -> None:
    settings, providers = await outreach(120.0)
    order, phone = f"help-{uuid.uuid4().hex[:8]}", "+15557000001"
    await stopped_on_the_route(producer, redis, order, phone)
    await eventually(lambda: asyncio.sleep(0, [s for s in providers.sms if s["to"] == phone]))  # asked
    assert [s["body"] for s in providers.sms if s["to"] == phone] == [CHECKIN_SMS]  # and nothing else
    assert await incident(redis, order, "long_stop") is None  # 4 min on the route: not yet
    asked_at = now_ms()
    for sid in ("SM-help-1", "SM-help-1", "SM-help-2"):  # Twilio redelivers; the passenger asks again
        await reply(settings, phone, "HELP" if sid != "SM-help-2" else "2", sid)
    long_stop = await eventually(lambda: incident(redis, order, "long_stop"), timeout_s=10)
    assert long_stop["detected_at"] - asked_at < 5_000  # at once, not at 10 min
    assert long_stop["severity"] == "critical" and long_stop["status"] == "open"
    assert long_stop["details"]["escalation_reason"] == "passenger asked for help"
    assert long_stop["details"]["escalated_from"] == f"{order}:stop_checkin"
    assert "passenger asked for help" in long_stop["summary"]
    checkin = await incident(redis, order, "stop_checkin")
    assert checkin is not None and checkin["subordinate_to"] == f"{order}:long_stop"
    revisions = await published(settings, f"{order}:long_stop")
    assert [r["revision"] for r in revisions] == [1]  # exactly once on `incidents`
    # outreach wrote the long_stop (its message to the passenger, and any page) in one transaction
    assert await eventually(lambda: long_stop_messages(redis, order)) == [f"{order}:long_stop:1:open"]
    pages = await page_triggers(redis, order)
    assert len(pages) == 1 and pages[0].startswith(f"{order}:stop_checkin:page:")  # one page, taken over


async def test_no_answer_raises_the_critical_long_stop_after_the_timeout(outreach, redis, producer) -> None:
    settings, providers = await outreach(3.0)
    order, phone = f"quiet-{uuid.uuid4().hex[:8]}", "+15557000002"
    await stopped_on_the_route(producer, redis, order, phone)
    await eventually(lambda: asyncio.sleep(0, [s for s in providers.sms if s["to"] == phone]))
    long_stop = await eventually(lambda: incident(redis, order, "long_stop"), timeout_s=20)
    assert long_stop["severity"] == "critical"
    assert long_stop["details"]["escalation_reason"] == "no answer in 3 s"
    assert [r["revision"] for r in await published(settings, f"{order}:long_stop")] == [1]


async def test_a_request_that_is_not_one_is_a_dead_letter(stack, producer) -> None:
    await producer.send(names.CHECKIN_ESCALATIONS, "bad-1", b'{"order_id": "bad-1"}')
    letter = await consume_until(
        stack, names.DEAD_LETTERS, lambda v: v.get("topic") == names.CHECKIN_ESCALATIONS
    )
    assert "not a check-in escalation" in letter["reason"]
