"""Hot reload through the session worker while events flow: no restart, within 5 s, never a mixed set.

The test publishes a changed test pack (the pickup-delay rule escalates to critical in
one city), keeps sending orders that open an incident at once, and reads which rule
set judged each one: the (severity, rule version) pair of its incident. Then it
publishes a broken set, which is refused while the good one keeps running, and puts
the original set back.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
import redis.asyncio as aioredis
import yaml

from core import names
from rules import reload
from rules.loader import load_rules
from tests.helpers import now_ms, wait_for_log, wait_until

pytestmark = pytest.mark.usefixtures("worker")
log = logging.getLogger(__name__)
CITY = "reloadville"


@pytest.fixture
async def worker_redis(settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(settings.redis_dsn)
    yield client
    await client.aclose()


def escalated(files: dict[str, str]) -> dict[str, str]:
    """The published files with the pickup-delay rule escalating to critical in CITY."""
    changed = {}
    for name, text in files.items():
        document = yaml.safe_load(text) or {}
        for rule in document.get("rules", []):
            if rule.get("id") == "pickup-delay":
                rule["escalate"] = [{"when": f'trip.city == "{CITY}"', "severity": "critical"}]
        changed[name] = yaml.safe_dump(document, sort_keys=False)
    return changed


async def send_late_order(producer, order_id: str) -> None:
    """An order whose first ETA is 5 min past the promise: the test pack opens at once."""
    promised = now_ms() + 60_000
    created = {
        "event_id": f"{order_id}-c",
        "type": "order.created",
        "order_id": order_id,
        "ts": now_ms(),
        "city": CITY,
        "passenger_id": "p-reload",
        "pickup": {"lat": 52.5, "lon": 13.4},
        "dropoff": {"lat": 52.4, "lon": 13.3},
        "promised_pickup_ts": promised,
    }
    eta = {
        "event_id": f"{order_id}-e",
        "type": "driver.eta_updated",
        "order_id": order_id,
        "ts": now_ms(),
        "eta_pickup_ts": promised + 300_000,
    }
    await producer.send(names.TRIP_EVENTS, order_id, created)
    await producer.send(names.TRIP_EVENTS, order_id, eta)


def incident_of(redis_client, order_id: str) -> dict | None:
    raw = redis_client.get(names.incident_key(f"{order_id}:pickup_delay"))
    return orjson.loads(raw) if raw else None


def worker_runs(redis_client, worker, version: str) -> bool:
    """The session worker reports `version` in force (other tests' workers may report too)."""
    status = redis_client.hget(names.RULES_WORKERS, f"{socket.gethostname()}:{worker.pid}")
    return status is not None and orjson.loads(status)["version"] == version


async def test_a_published_change_takes_effect_within_5_s_and_a_broken_one_is_refused(
    producer, redis_client, worker_redis, service_dir: Path, worker
):
    original = wait_until(lambda: redis_client.get(names.RULES_CURRENT), timeout_s=15)
    original = orjson.loads(original)
    wait_until(lambda: worker_runs(redis_client, worker, original["version"]), timeout_s=10)
    before = load_rules(original["files"])
    after = load_rules(escalated(original["files"]))
    old = ("medium", before.by_id("pickup-delay").version)
    new = ("critical", after.by_id("pickup-delay").version)
    assert old[1] != new[1]

    sent: list[tuple[float, str]] = []  # (monotonic send time, order id)
    try:
        for _ in range(5):
            sent.append((time.monotonic(), f"reload-{uuid.uuid4().hex[:8]}"))
            await send_late_order(producer, sent[-1][1])
            await asyncio.sleep(0.2)
        published_at = time.monotonic()
        await reload.publish_rule_set(worker_redis, after, by="test")
        while time.monotonic() - published_at < 7:
            sent.append((time.monotonic(), f"reload-{uuid.uuid4().hex[:8]}"))
            await send_late_order(producer, sent[-1][1])
            await asyncio.sleep(0.2)

        judged = {oid: wait_until(lambda oid=oid: incident_of(redis_client, oid), 10) for _, oid in sent}
        pairs = {oid: (i["severity"], i["rule_version"]) for oid, i in judged.items()}
        assert set(pairs.values()) == {old, new}  # each event judged by one whole set
        assert all(pairs[oid] == old for at, oid in sent if at < published_at)
        assert all(pairs[oid] == new for at, oid in sent if at > published_at + 5)
        switch_s = min(at for at, oid in sent if pairs[oid] == new) - published_at
        log.info("the published rule set judged the first order sent %.2f s after publishing", switch_s)
        assert worker_runs(redis_client, worker, after.version)
        assert worker.poll() is None  # the same process all along: no restart

        await refused_set_leaves_the_good_one_running(
            producer, redis_client, worker_redis, service_dir, worker, new
        )
    finally:
        await reload.publish(worker_redis, original["files"], original["version"], by="test cleanup")
        wait_until(lambda: worker_runs(redis_client, worker, original["version"]), timeout_s=10)


async def refused_set_leaves_the_good_one_running(
    producer, redis_client, worker_redis, service_dir, worker, new
):
    broken = f"broken-{uuid.uuid4().hex[:6]}"
    files = {"broken.yaml": "rules:\n  - id: broken\n    kind: pickup_delay\n    when: trip.city ==\n"}
    await reload.publish(worker_redis, files, broken, by="test")
    refused = wait_until(lambda: redis_client.get(names.RULES_REFUSED), timeout_s=5)
    assert orjson.loads(refused)["version"] == broken
    assert orjson.loads(refused)["problems"] == [
        "broken.yaml:4:23: rules.0.when: bad expression: the expression ends too early"
    ]
    wait_for_log(service_dir / "worker.log", f"rule set {broken} refused", worker, timeout_s=5)
    order_id = f"reload-{uuid.uuid4().hex[:8]}"
    await send_late_order(producer, order_id)
    incident = wait_until(lambda: incident_of(redis_client, order_id), 10)
    assert (incident["severity"], incident["rule_version"]) == new
