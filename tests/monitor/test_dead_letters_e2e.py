"""Bad input through the real broker: each goes to the dead-letter topic, the stream goes on."""

from __future__ import annotations

import base64

import orjson
import pytest

from core import names
from tests.helpers import consume_until, key_on_same_partition, now_ms, partition_of, wait_until

pytestmark = pytest.mark.usefixtures("worker")


def bad_inputs(order_id: str) -> dict[str, tuple[str, bytes, str]]:
    """name -> (topic, raw bytes, a piece of the reason)."""
    base = {"event_id": f"{order_id}-bad", "order_id": order_id, "ts": now_ms()}

    def raw(value: dict) -> bytes:
        return orjson.dumps(value)

    return {
        "not_json": (names.TRIP_EVENTS, b"<xml>nope</xml>", "not JSON"),
        "not_an_object": (names.PAYMENTS, b'"just a string"', "Expected `object`, got `str`"),
        "wrong_type": (
            names.TELEMETRY,
            raw({**base, "driver_id": "d1", "lat": "north", "lon": 13.4, "speed_kmh": 3}),
            "Expected `float`, got `str` - at `$.lat`",
        ),
        "missing_field": (
            names.SAFETY_SIGNALS,
            raw({**base, "type": "sos.pressed"}),
            "missing required field `source`",
        ),
        "unknown_event_type": (names.TRIP_EVENTS, raw({**base, "type": "order.teleported"}), "$.type"),
        "negative_ts": (names.TRIP_EVENTS, raw({**base, "type": "driver.arrived", "ts": -1}), "negative"),
        "absurd_ts": (names.TRIP_EVENTS, raw({**base, "type": "driver.arrived", "ts": 10**15}), "future"),
        "oversized": (
            names.TRIP_EVENTS,
            raw({**base, "type": "driver.arrived", "note": "x" * 70_000}),
            "over the limit of 65536",
        ),
        "invalid_utf8": (
            names.TRIP_EVENTS,
            b'{"type": "driver.arrived", "x": "\xc3\x28"}',
            "not valid UTF-8",
        ),
    }


def incident_of(redis_client, order_id: str) -> dict | None:
    raw = redis_client.get(names.incident_key(f"{order_id}:pickup_delay"))
    return orjson.loads(raw) if raw else None


async def test_each_bad_input_is_dead_lettered_and_the_stream_goes_on(
    producer, settings, redis_client, order_id
):
    cases = bad_inputs(order_id)
    for name, (topic, raw, _) in cases.items():
        await producer.send(topic, order_id, raw)
        # A good event right behind each bad one, on the same partition number: the one
        # agent reads all four input topics, so a stuck stream would never judge it.
        good_order = key_on_same_partition(order_id, settings.partitions, prefix=name)
        await producer.send(
            names.TRIP_EVENTS,
            good_order,
            {
                "event_id": f"{good_order}-created", "type": "order.created", "order_id": good_order,
                "ts": now_ms(), "passenger_id": "p1", "pickup": {"lat": 1.0, "lon": 1.0},
                "dropoff": {"lat": 1.0, "lon": 1.1}, "promised_pickup_ts": now_ms() - 60_000,
            },
        )  # fmt: skip

    for name, (topic, raw, reason) in cases.items():
        good_order = key_on_same_partition(order_id, settings.partitions, prefix=name)
        letter = await consume_until(
            settings,
            names.DEAD_LETTERS,
            lambda m, raw=raw, topic=topic: (
                m["topic"] == topic and base64.b64decode(m["original_b64"]) == raw
            ),
        )
        assert reason in letter["reason"], name
        assert letter["partition"] == partition_of(order_id, settings.partitions)
        assert letter["offset"] >= 0
        assert base64.b64decode(letter["key_b64"]).decode() == order_id
        # the stream went on: the good order behind it was judged (its deadline passed)
        wait_until(lambda good=good_order: incident_of(redis_client, good), timeout_s=30)


async def test_bad_passenger_record_is_dead_lettered(producer, settings, redis_client, order_id):
    await producer.send(
        names.PASSENGERS, f"{order_id}-p", b'{"passenger_id": 7, "name": "X", "locale": "en"}'
    )
    letter = await consume_until(
        settings,
        names.DEAD_LETTERS,
        lambda m: m["topic"] == names.PASSENGERS and "passenger_id" in m["reason"],
    )
    assert "Expected `str`, got `int`" in letter["reason"]
    good = {"passenger_id": f"{order_id}-p", "name": "Anna", "locale": "en", "vip": True}
    await producer.send(names.PASSENGERS, f"{order_id}-p", good)
    stored = wait_until(lambda: redis_client.get(names.passenger_key(f"{order_id}-p")), timeout_s=30)
    assert orjson.loads(stored)["vip"] is True
