"""Detection end to end: real broker, real Redis, the session worker.

The worker runs the short-threshold rules of tests/rules/worker_set/detection.yaml.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest

from core import names
from tests.helpers import key_on_same_partition, now_ms, wait_until
from tests.monitor.trips import DROPOFF, PICKUP, ROUTE, off_route, on_route

pytestmark = pytest.mark.usefixtures("worker")


def incident(redis_client, order_id: str, kind: str) -> dict | None:
    raw = redis_client.get(names.incident_key(f"{order_id}:{kind}"))
    return orjson.loads(raw) if raw else None


def wait_incident(
    redis_client, order_id: str, kind: str, status: str = "open", timeout_s: float = 15
) -> dict:
    def check() -> dict | None:
        found = incident(redis_client, order_id, kind)
        return found if found and found["status"] == status else None

    return wait_until(check, timeout_s=timeout_s)


class Order:
    def __init__(self, producer, order_id: str) -> None:
        self.producer, self.order_id, self.n = producer, order_id, 0

    async def trip(self, kind: str, **fields) -> int:
        self.n += 1
        ts = fields.pop("ts", None) or now_ms()
        event = {"event_id": f"{self.order_id}-{self.n}", "type": kind, "order_id": self.order_id, "ts": ts}
        await self.producer.send(names.TRIP_EVENTS, self.order_id, {**event, "city": "berlin", **fields})
        return ts

    async def start(self) -> None:
        await self.trip(
            "order.created", passenger_id="p-e2e", promised_pickup_ts=now_ms() + 600_000,
            pickup={"lat": PICKUP[0], "lon": PICKUP[1]}, dropoff={"lat": DROPOFF[0], "lon": DROPOFF[1]},
        )  # fmt: skip
        await self.trip("trip.started", eta_dropoff_ts=now_ms() + 600_000, route=ROUTE)

    async def ping(self, point, speed: float = 40.0, ts: int | None = None) -> int:
        ts = ts or now_ms()
        event = {"order_id": self.order_id, "driver_id": "d-1", "ts": ts, "lat": point[0], "lon": point[1],
                 "speed_kmh": speed, "accuracy_m": 5.0}  # fmt: skip
        await self.producer.send(names.TELEMETRY, self.order_id, event)
        return ts

    async def pay(self, kind: str, payment_id: str = "pay-1", event_id: str | None = None, **fields) -> int:
        self.n += 1
        ts = now_ms()
        event = {"event_id": event_id or f"{self.order_id}-pay-{self.n}", "type": kind,
                 "order_id": self.order_id, "passenger_id": "p-e2e", "ts": ts, "payment_id": payment_id,
                 "amount_minor": 990, "currency": "EUR", **fields}  # fmt: skip
        await self.producer.send(names.PAYMENTS, self.order_id, event)
        return ts

    async def signal(self, kind: str, source: str = "passenger") -> int:
        self.n += 1
        ts = now_ms()
        event = {"event_id": f"{self.order_id}-sig-{self.n}", "type": kind, "order_id": self.order_id,
                 "ts": ts, "source": source}  # fmt: skip
        await self.producer.send(names.SAFETY_SIGNALS, self.order_id, event)
        return ts


async def processed_marker(producer, settings, redis_client, order_id: str) -> None:
    """An SOS on `order_id`'s partition, waited for: everything sent before it was processed."""
    marker = Order(producer, key_on_same_partition(order_id, settings.partitions))
    await marker.signal("sos.pressed")
    wait_incident(redis_client, marker.order_id, "sos", timeout_s=10)


async def test_sos_is_decided_within_a_second_of_its_arrival(producer, redis_client, order_id):
    order = Order(producer, order_id)
    sent = await order.signal("sos.pressed", source="driver")
    found = wait_incident(redis_client, order_id, "sos", timeout_s=10)
    assert (found["severity"], found["trigger_ts"]) == ("critical", sent)
    assert found["detected_at"] - sent < 1000


async def test_signal_lost_fires_on_the_clock_and_resolves_when_pings_return(
    producer, redis_client, order_id
):
    order = Order(producer, order_id)
    await order.start()
    last = await order.ping(on_route(0.1))
    found = wait_incident(redis_client, order_id, "signal_lost", timeout_s=30)
    assert found["trigger_ts"] == last + 4000  # the deadline, in event time
    assert found["detected_at"] - found["trigger_ts"] < 2000  # decided within 2 s of it
    await order.ping(on_route(0.2))
    resolved = wait_incident(redis_client, order_id, "signal_lost", status="resolved", timeout_s=10)
    assert resolved["resolution"] == "telemetry is back"


async def test_long_stop_fires_on_the_clock(producer, redis_client, order_id):
    order = Order(producer, order_id)
    await order.start()
    first = await order.ping(off_route(0.3, 100), speed=0)
    await asyncio.sleep(0.5)
    await order.ping(off_route(0.3, 100), speed=0)
    found = wait_incident(redis_client, order_id, "long_stop", timeout_s=30)
    assert found["trigger_ts"] == first + 3000 and found["severity"] == "critical"
    assert found["detected_at"] - found["trigger_ts"] < 2000


async def test_route_deviation_then_crash_makes_it_subordinate(producer, redis_client, order_id):
    order = Order(producer, order_id)
    await order.start()
    base = now_ms()
    for offset in (0, 600, 1200):
        await order.ping(off_route(0.3, 400), ts=base + offset)
    deviation = wait_incident(redis_client, order_id, "route_deviation", timeout_s=10)
    assert deviation["severity"] == "medium" and deviation["details"]["distance_m"] >= 390
    assert deviation.get("subordinate_to") is None
    await order.signal("crash.detected", source="sensor")
    wait_incident(redis_client, order_id, "crash_suspected", timeout_s=10)

    def subordinate() -> dict | None:
        found = incident(redis_client, order_id, "route_deviation")
        return found if found and found.get("subordinate_to") == f"{order_id}:crash_suspected" else None

    assert wait_until(subordinate, timeout_s=10)["status"] == "open"


async def test_payment_retry_that_succeeds_is_silent_and_two_captures_are_a_double_charge(
    producer, settings, redis_client, order_id
):
    order = Order(producer, order_id)
    await order.pay("payment.failed", code="processing_error", attempt=1)
    await asyncio.sleep(0.2)
    await order.pay("payment.captured", event_id=f"{order_id}-capture")
    await order.pay("payment.captured", event_id=f"{order_id}-capture")  # redelivered: changes nothing
    await asyncio.sleep(2.5)  # past the retry grace plus the allowed lateness
    await processed_marker(producer, settings, redis_client, order_id)
    assert incident(redis_client, order_id, "payment_failure") is None
    assert incident(redis_client, order_id, "double_charge") is None

    await order.pay("payment.captured", payment_id="pay-2")
    found = wait_incident(redis_client, order_id, "double_charge", timeout_s=10)
    assert found["details"]["payment_ids"] == ["pay-1", "pay-2"] and found["severity"] == "high"


async def test_early_end_far_from_the_dropoff(producer, redis_client, order_id):
    order = Order(producer, order_id)
    await order.start()
    await order.ping(on_route(0.5), speed=20)
    completed = await order.trip("trip.completed")
    found = wait_incident(redis_client, order_id, "early_end", timeout_s=10)
    assert found["trigger_ts"] == completed and found["details"]["distance_m"] > 1500
