"""Fuzzing the decoder: whatever the bytes, out comes a valid model or a `BadEvent`, never another error."""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Iterator
from typing import Any

import msgspec
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import models, names
from monitor.decoding import DAY_MS, KEY_FIELDS, MAX_REASON_CHARS, BadEvent, DecodeLimits, decode_event

NOW = 1_790_000_000_000
LIMITS = DecodeLimits(max_bytes=1_000_000, max_age_ms=30 * DAY_MS, max_future_ms=3_600_000)
TOPICS = sorted(KEY_FIELDS)
MODELS: dict[str, Any] = {
    names.TRIP_EVENTS: models.TripEvent,
    names.TELEMETRY: models.TelemetryPing,
    names.PAYMENTS: models.PaymentEvent,
    names.SAFETY_SIGNALS: models.SafetySignal,
    names.PASSENGERS: models.Passenger,
}
# One valid body per topic: mutating a field of it reaches the value rules, not just the parser.
VALID = {
    names.TRIP_EVENTS: {
        "event_id": "e1", "type": "trip.started", "order_id": "o1", "ts": NOW, "eta_dropoff_ts": NOW,
        "route": [[52.5, 13.4], [52.6, 13.5]],
    },
    names.TELEMETRY: {
        "order_id": "o1", "driver_id": "d1", "ts": NOW, "lat": 52.5, "lon": 13.4, "speed_kmh": 30.0,
        "heading_deg": 90.0, "accuracy_m": 5.0,
    },
    names.PAYMENTS: {
        "event_id": "p1", "type": "payment.failed", "order_id": "o1", "passenger_id": "pa1", "ts": NOW,
        "payment_id": "pm1", "amount_minor": 1250, "currency": "EUR", "code": "card_declined", "attempt": 1,
    },
    names.SAFETY_SIGNALS: {
        "event_id": "s1", "type": "sos.pressed", "order_id": "o1", "ts": NOW, "source": "passenger",
        "lat": 52.5, "lon": 13.4,
    },
    names.PASSENGERS: {"passenger_id": "o1", "name": "Anna", "locale": "en", "channels": ["sms"]},
}  # fmt: skip

NESTED = {
    "trip.started": VALID[names.TRIP_EVENTS],
    "order.created": {
        "event_id": "e1", "type": "order.created", "order_id": "o1", "ts": NOW, "passenger_id": "pa1",
        "pickup": {"lat": 52.5, "lon": 13.4}, "dropoff": {"lat": 52.6, "lon": 13.5}, "promised_pickup_ts": NOW,
    },
    "driver.assigned": {
        "event_id": "e1", "type": "driver.assigned", "order_id": "o1", "ts": NOW, "eta_pickup_ts": NOW,
        "driver": {"id": "d1", "name": "Jonas", "plate": "B-1"},
    },
    "trip.completed": {
        "event_id": "e1", "type": "trip.completed", "order_id": "o1", "ts": NOW,
        "fare": {"amount_minor": 1250, "currency": "EUR"},
    },
}  # fmt: skip

ODD_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=20)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: 10**30 too
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([1e308, -1e308, 5e-324, 0.0, -0.0, 2**63, -(2**63) - 1, 2**64])
    | st.sampled_from([90.0, 90.5, -91, 180, 181.0, 400, 400.1, -1, 10**10, 10**10 + 1, 10**30])  # the edges
    | st.sampled_from(["", "a:b", "a\x00", "a\n", "\x85", "x" * 128, "x" * 129, "订单🚕"])
    | ODD_TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ODD_TEXT, inner, max_size=4),
    max_leaves=20,
)
KEYS = st.one_of(st.none(), st.just(b"o1"), st.just(b""), st.binary(max_size=64))
SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def dumps(value: Any) -> bytes:
    """Loose JSON as producers get it wrong: NaN, Infinity, huge ints, lone surrogates kept."""
    return json.dumps(value, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")


def assert_valid_or_refused(topic: str, raw: bytes, key: bytes | None) -> None:
    try:
        event = decode_event(topic, raw, LIMITS, now_ms=NOW, key=key)
    except BadEvent as refused:
        assert 0 < len(str(refused)) <= MAX_REASON_CHARS
        return
    assert isinstance(event, MODELS[topic])
    assert key == getattr(event, KEY_FIELDS[topic]).encode()
    stored = msgspec.to_builtins(event)
    orjson.dumps(stored)  # what the worker stores must encode: 64-bit ints, no NaN
    assert not list(breaches(stored)), list(breaches(stored))


# The contract's value rules restated by hand, as an oracle for what the decoder let through.
ID_FIELDS = {"order_id", "event_id", "passenger_id", "payment_id", "driver_id"}
RANGES = {"lat": 90, "lon": 180, "speed_kmh": 400, "accuracy_m": 100_000, "amount_minor": 10**10}


def is_id(value: str) -> bool:
    controls = any(unicodedata.category(char) == "Cc" for char in value)
    return 0 < len(value) <= 128 and ":" not in value and not controls


def breaches(value: Any, field: str = "$") -> Iterator[str]:
    if isinstance(value, dict):
        for name, item in value.items():
            yield from breaches(item, "driver_id" if field == "driver" and name == "id" else name)
    elif isinstance(value, list | tuple):
        if field == "route" and len(value) < 2:
            yield "route of fewer than two points"
        for point in value if field == "route" else ():
            yield from breaches({"lat": point[0], "lon": point[1]})
    elif isinstance(value, float) and not math.isfinite(value):
        yield f"{field} = {value}"
    elif field in ID_FIELDS and value is not None and not is_id(value):
        yield f"{field} = {value!r}"
    elif field in RANGES and value is not None and not in_range(field, value):
        yield f"{field} = {value}"


def in_range(field: str, value: float) -> bool:
    return abs(value) <= RANGES[field] and (field in ("lat", "lon") or value >= 0)


@SETTINGS
@given(topic=st.sampled_from(TOPICS), raw=st.binary(max_size=512), key=KEYS)
def test_arbitrary_bytes(topic: str, raw: bytes, key: bytes | None) -> None:
    assert_valid_or_refused(topic, raw, key)


@SETTINGS
@given(topic=st.sampled_from(TOPICS), value=JSON_VALUES, key=KEYS)
def test_arbitrary_json(topic: str, value: Any, key: bytes | None) -> None:
    assert_valid_or_refused(topic, dumps(value), key)


@SETTINGS
@given(topic=st.sampled_from(TOPICS), data=st.data(), key=st.one_of(st.just(b"o1"), KEYS))
def test_valid_events_with_fields_replaced(topic: str, data: st.DataObject, key: bytes | None) -> None:
    fields = st.sampled_from(sorted(VALID[topic]))
    body = {**VALID[topic], **data.draw(st.dictionaries(fields, JSON_VALUES, min_size=1, max_size=2))}
    dropped = data.draw(st.sets(fields, max_size=1))
    assert_valid_or_refused(topic, dumps({k: v for k, v in body.items() if k not in dropped}), key)


@SETTINGS
@given(topic=st.sampled_from(TOPICS), data=st.data())
def test_valid_events_with_nested_values_replaced(topic: str, data: st.DataObject) -> None:
    """Inside the route, the pickup, the driver: where the top-level replacement does not reach."""
    valid = NESTED[data.draw(st.sampled_from(sorted(NESTED)))] if topic == names.TRIP_EVENTS else VALID[topic]
    body = orjson.loads(orjson.dumps(valid))  # a deep copy
    leaf, path = body, data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    for step in path[:-1]:
        items = list(leaf.values()) if isinstance(leaf, dict) else leaf
        containers = [item for item in items if isinstance(item, dict | list) and item]
        if not containers:
            break
        leaf = containers[step % len(containers)]
    keys = sorted(leaf) if isinstance(leaf, dict) else range(len(leaf))
    leaf[list(keys)[path[-1] % len(keys)]] = data.draw(JSON_VALUES)
    assert_valid_or_refused(topic, dumps(body), b"o1")


@settings(max_examples=60, deadline=None)
@given(
    topic=st.sampled_from(TOPICS),
    levels=st.integers(1, 12_000),
    opener=st.sampled_from([(b"[", b"]"), (b'{"a":', b"}"), (b'[{"b":', b"}]")]),
    closed=st.booleans(),
)
def test_deep_nesting(topic: str, levels: int, opener: tuple[bytes, bytes], closed: bool) -> None:
    inner = opener[0] * levels + b"1" + (opener[1] * levels if closed else b"")
    raw = orjson.dumps(VALID[topic])[:-1] + b', "extra": ' + inner + b"}"
    assert_valid_or_refused(topic, raw, b"o1")
