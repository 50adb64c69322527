"""Pickup delay end to end: real broker, real Redis, the real worker (test rules: 2 s grace)."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from core import names
from tests.helpers import consume_until, key_on_same_partition, now_ms, wait_until

pytestmark = pytest.mark.usefixtures("worker")


def order_created(order_id: str, promised_ts: int, event_id: str | None = None) -> dict:
    return {
        "event_id": event_id or f"{order_id}-created",
        "type": "order.created",
        "order_id": order_id,
        "ts": now_ms(),
        "city": "berlin",
        "passenger_id": "p-test",
        "pickup": {"lat": 52.52, "lon": 13.41},
        "dropoff": {"lat": 52.50, "lon": 13.33},
        "promised_pickup_ts": promised_ts,
    }


def trip_event(order_id: str, kind: str, suffix: str, **fields: object) -> dict:
    return {"event_id": f"{order_id}-{suffix}", "type": kind, "order_id": order_id, "ts": now_ms(), **fields}


async def processed_marker(producer, settings, redis_client, order_id: str) -> None:
    """Send an order on `order_id`'s partition that opens an incident at once, and wait for
    it: every event sent before it to that partition has then been processed."""
    marker = key_on_same_partition(order_id, settings.partitions)
    await producer.send(names.TRIP_EVENTS, marker, order_created(marker, now_ms() - 10_000))
    wait_until(lambda: stored_incident(redis_client, marker), timeout_s=10)


def stored_incident(redis_client, order_id: str) -> dict | None:
    raw = redis_client.get(names.incident_key(f"{order_id}:pickup_delay"))
    return orjson.loads(raw) if raw else None


async def test_deadline_fires_with_no_further_event(producer, settings, redis_client, order_id):
    """The promise plus grace passes in silence: the incident opens on the clock alone."""
    promised = now_ms() + 500
    await producer.send(names.TRIP_EVENTS, order_id, order_created(order_id, promised))

    await asyncio.sleep(1.5)  # before promise + 2 s grace: nothing yet
    assert stored_incident(redis_client, order_id) is None

    incident = wait_until(lambda: stored_incident(redis_client, order_id), timeout_s=10)
    assert incident["status"] == "open"
    assert incident["kind"] == "pickup_delay"
    assert incident["trigger_ts"] == promised + 2000
    # decided on time: within 2 s of the deadline
    assert incident["detected_at"] - (promised + 2000) < 2000
    assert incident["rule_id"] == "pickup-delay" and incident["rule_version"]
    assert order_id in {i.decode().split(":")[0] for i in redis_client.zrange(names.INCIDENTS_OPEN, 0, -1)}


async def test_scenario_opens_on_topic_and_in_redis_then_resolves(producer, settings, redis_client, order_id):
    await producer.send(names.TRIP_EVENTS, order_id, order_created(order_id, now_ms() + 200))
    await producer.send(
        names.TRIP_EVENTS,
        order_id,
        trip_event(
            order_id,
            "driver.assigned",
            "assigned",
            eta_pickup_ts=now_ms() + 100,
            driver={"id": "d1", "name": "Jonas Weber", "plate": "B-TW 1234"},
        ),
    )
    opened = await consume_until(
        settings, names.INCIDENTS, lambda m: m["order_id"] == order_id and m["status"] == "open"
    )
    assert opened["details"]["driver"]["plate"] == "B-TW 1234"
    assert stored_incident(redis_client, order_id)["status"] == "open"

    await producer.send(names.TRIP_EVENTS, order_id, trip_event(order_id, "driver.arrived", "arrived"))
    resolved = await consume_until(
        settings, names.INCIDENTS, lambda m: m["order_id"] == order_id and m["status"] == "resolved"
    )
    assert resolved["incident_id"] == opened["incident_id"]
    assert resolved["revision"] == opened["revision"] + 1
    assert stored_incident(redis_client, order_id)["status"] == "resolved"
    assert redis_client.zscore(names.INCIDENTS_OPEN, opened["incident_id"]) is None


async def test_late_eta_update_opens_at_once(producer, settings, redis_client, order_id):
    """An ETA 5 min past the promise (threshold 60 s) opens the incident before any deadline."""
    promised = now_ms() + 600_000
    await producer.send(names.TRIP_EVENTS, order_id, order_created(order_id, promised))
    await producer.send(
        names.TRIP_EVENTS,
        order_id,
        trip_event(order_id, "driver.eta_updated", "eta-1", eta_pickup_ts=promised + 300_000),
    )
    incident = wait_until(lambda: stored_incident(redis_client, order_id), timeout_s=10)
    assert incident["details"]["trigger"] == "eta_overrun"
    assert incident["details"]["overrun_s"] == 300


async def test_eta_within_threshold_raises_nothing(producer, settings, redis_client, order_id):
    promised = now_ms() + 600_000
    await producer.send(names.TRIP_EVENTS, order_id, order_created(order_id, promised))
    await producer.send(
        names.TRIP_EVENTS,
        order_id,
        trip_event(order_id, "driver.eta_updated", "eta-1", eta_pickup_ts=promised + 30_000),
    )
    await processed_marker(producer, settings, redis_client, order_id)
    assert stored_incident(redis_client, order_id) is None


async def test_duplicate_event_id_changes_nothing(producer, settings, redis_client, order_id):
    promised = now_ms() + 600_000
    await producer.send(names.TRIP_EVENTS, order_id, order_created(order_id, promised))
    late_eta = trip_event(order_id, "driver.eta_updated", "eta-1", eta_pickup_ts=promised + 300_000)
    await producer.send(names.TRIP_EVENTS, order_id, late_eta)
    first = wait_until(lambda: stored_incident(redis_client, order_id), timeout_s=10)

    # The same event redelivered, then a different ETA with the *same* event id.
    await producer.send(names.TRIP_EVENTS, order_id, late_eta)
    await producer.send(names.TRIP_EVENTS, order_id, {**late_eta, "eta_pickup_ts": promised + 900_000})
    await processed_marker(producer, settings, redis_client, order_id)
    assert stored_incident(redis_client, order_id) == first
