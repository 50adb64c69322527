"""`tripwatch outreach` killed with SIGKILL in the middle of delivery: after a restart, every
message the incidents imply reached the provider exactly once (counted at the fake Twilio)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from core import names
from core.models import Passenger
from core.processes import spawn, stop_process
from monitor.topics import ensure_topics
from notifiers.model import decode_message
from tests.notifiers.conftest import add_passenger

TRIPS = 10


def incident(order: str, revision: int, eta_ts: int | None = None) -> dict[str, object]:
    details: dict[str, object] = {"driver": {"id": "d", "name": "Ivan Petrov", "plate": "A123BC77"}}
    if eta_ts is not None:
        details["eta_pickup_ts"] = eta_ts
    return {
        "incident_id": f"{order}:pickup_delay",
        "kind": "pickup_delay",
        "severity": "medium",
        "status": "open",
        "order_id": order,
        "passenger_id": f"p-{order}",
        "rule_id": "pickup-delay",
        "rule_version": "1",
        "trigger_ts": 0,
        "detected_at": 0,
        "summary": "driver late",
        "details": details,
        "revision": revision,
    }


def start(settings, log_path: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ) | settings.as_environment()
    with log_path.open("ab") as sink:
        return spawn([sys.executable, "-m", "tripwatch.cli", "outreach"], env, sink)


async def kill_mid_delivery(
    settings,
    log_path: Path,
    redis,
    delivered: Callable[[], int],
    begun: int,
    expected: int,
    done: Callable[[], int] | None = None,
) -> int:
    """Start outreach, SIGKILL it once `delivered()` reaches `begun`, start another one and wait
    until `done()` (by default `delivered()`) reaches `expected` and the queue is empty; returns
    what was delivered at the kill."""
    done = done or delivered
    first = start(settings, log_path)
    try:
        await wait_for(lambda: delivered() >= begun, 60, "no delivery began")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        killed_at = delivered()
        second = start(settings, log_path)
        try:
            await wait_for(lambda: done() >= expected, 60, f"only {done()} of {expected} delivered")
            await asyncio.sleep(settings.outreach_lease_s + 1.5)  # time for any duplicate to show
            assert await redis.zcard(names.OUTBOX_NORMAL) == 0
        finally:
            stop_process("outreach", second, timeout_s=20)
    finally:
        stop_process("outreach", first, timeout_s=0.1)
    return killed_at


async def wait_for(check, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(what)


@pytest.mark.timeout(90)
async def test_kill_9_mid_delivery_sends_every_message_exactly_once(
    outreach_settings, settings, redis, producer, providers, tmp_path
) -> None:
    settings = outreach_settings.model_copy(
        update={
            "kafka_url": settings.kafka_url,
            "app_id": f"outreach-kill-{uuid.uuid4().hex[:6]}",
            "outreach_group_wait_s": 0.0,
            "outreach_concurrency": 2,
            "outreach_lease_s": 2.0,
            "outreach_http_timeout_s": 5.0,
            "outreach_tick_s": 0.05,
        }
    )
    await ensure_topics(settings)
    providers.delay_s["sms"] = 0.3  # accepted on arrival, answered late: a kill lands mid-request
    run = uuid.uuid4().hex[:6]
    orders = [f"kill-{run}-{n}" for n in range(TRIPS)]
    for n, order in enumerate(orders):
        phone = f"+1555{n:07d}"
        await add_passenger(
            redis, Passenger(passenger_id=f"p-{order}", name="Anna", locale="en", phone=phone)
        )
    eta = int(time.time() * 1000) + 20 * 60_000
    for order in orders:  # each implies two messages: the opening and one update (new ETA)
        for value in (incident(order, 1), incident(order, 1), incident(order, 2, eta)):
            await producer.send(names.INCIDENTS, f"{order}:pickup_delay", orjson.dumps(value))

    log_path = tmp_path / "outreach.log"
    killed_at = await kill_mid_delivery(settings, log_path, redis, lambda: len(providers.sms), 5, 2 * TRIPS)
    sent = Counter((m["to"], m["body"]) for m in providers.sms)
    assert killed_at < 2 * TRIPS, "the kill came after delivery had finished"
    assert len(providers.sms) == 2 * TRIPS, log_path.read_text()[-3000:]
    assert set(sent.values()) == {1}
    assert len({to for to, _ in sent}) == TRIPS
    outcomes: Counter[str] = Counter()
    for key in await redis.keys(names.OUTBOX_MESSAGE + "kill-*"):
        message = decode_message(await redis.get(key))
        assert message.status == "sent"
        outcomes.update(attempt.outcome for attempt in message.history)
    assert outcomes["reconciled"] >= 1  # the one in flight at the kill was found, not re-sent
    assert outcomes["sent"] + outcomes["reconciled"] == 2 * TRIPS
