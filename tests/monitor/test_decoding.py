"""Strict decoding of every contract type, as plain function calls."""

from __future__ import annotations

import orjson
import pytest

from monitor import models, names
from monitor.decoding import DAY_MS, BadEvent, DecodeLimits, decode_event

NOW = 1_790_000_000_000
LIMITS = DecodeLimits(max_bytes=4096, max_age_ms=30 * DAY_MS, max_future_ms=3_600_000)

BASE = {"event_id": "e1", "order_id": "o1", "ts": NOW, "city": "berlin"}
PLACE = {"lat": 52.5, "lon": 13.4, "address": "Alexanderplatz 1"}

TRIP_EVENTS = {
    "order.created": (
        models.OrderCreated,
        {"passenger_id": "p1", "pickup": PLACE, "dropoff": PLACE, "promised_pickup_ts": NOW + 60_000},
    ),
    "driver.assigned": (
        models.DriverAssigned,
        {"driver": {"id": "d1", "name": "Jonas", "plate": "B-1", "phone": "+491"}, "eta_pickup_ts": NOW},
    ),
    "driver.eta_updated": (models.DriverEtaUpdated, {"eta_pickup_ts": NOW}),
    "driver.arrived": (models.DriverArrived, {}),
    "trip.started": (models.TripStarted, {"eta_dropoff_ts": NOW, "route": [[52.5, 13.4], [52.6, 13.5]]}),
    "trip.eta_updated": (models.TripEtaUpdated, {"eta_dropoff_ts": NOW}),
    "trip.rerouted": (models.TripRerouted, {"route": [[52.5, 13.4], [52.6, 13.5]]}),
    "trip.completed": (models.TripCompleted, {"fare": {"amount_minor": 1250, "currency": "EUR"}}),
    "order.cancelled": (models.OrderCancelled, {"cancelled_by": "driver", "reason": "car broke"}),
}


def decode(topic: str, value: object) -> object:
    raw = value if isinstance(value, bytes) else orjson.dumps(value)
    return decode_event(topic, raw, LIMITS, now_ms=NOW)


@pytest.mark.parametrize("event_type", sorted(TRIP_EVENTS))
def test_every_trip_event_type_decodes(event_type: str) -> None:
    model, extra = TRIP_EVENTS[event_type]
    event = decode(names.TRIP_EVENTS, {**BASE, "type": event_type, **extra, "future_field": 1})
    assert type(event) is model
    assert event.order_id == "o1" and event.ts == NOW and event.city == "berlin"


OPTIONAL_ONLY = {"driver.arrived", "trip.completed"}  # no required field beyond the common ones


@pytest.mark.parametrize("event_type", sorted(set(TRIP_EVENTS) - OPTIONAL_ONLY))
def test_trip_event_without_its_own_field_is_bad(event_type: str) -> None:
    _, extra = TRIP_EVENTS[event_type]
    missing = next(iter(extra))
    partial = {k: v for k, v in extra.items() if k != missing}
    with pytest.raises(BadEvent, match=f"missing required field `{missing}`"):
        decode(names.TRIP_EVENTS, {**BASE, "type": event_type, **partial})


def test_telemetry_decodes_with_and_without_optionals() -> None:
    ping = {"order_id": "o1", "driver_id": "d1", "ts": NOW, "lat": 52.5, "lon": 13.4, "speed_kmh": 31}
    minimal = decode(names.TELEMETRY, ping)
    full = decode(names.TELEMETRY, {**ping, "event_id": "t1", "heading_deg": 90.0, "accuracy_m": 4.5})
    assert isinstance(minimal, models.TelemetryPing) and minimal.event_id is None
    assert full.accuracy_m == 4.5 and full.speed_kmh == 31


@pytest.mark.parametrize(
    "event_type", ["payment.authorized", "payment.captured", "payment.failed", "payment.refunded"]
)
def test_payment_types_decode(event_type: str) -> None:
    payment = {
        "event_id": "pay1", "type": event_type, "order_id": "o1", "passenger_id": "p1", "ts": NOW,
        "payment_id": "pm1", "amount_minor": 1250, "currency": "EUR",
    }  # fmt: skip
    if event_type == "payment.failed":
        payment |= {"code": "card_declined", "attempt": 2}
    event = decode(names.PAYMENTS, payment)
    assert isinstance(event, models.PaymentEvent) and event.type == event_type


@pytest.mark.parametrize("event_type", ["sos.pressed", "crash.detected", "safety.reported"])
def test_safety_signal_types_decode(event_type: str) -> None:
    signal = {"event_id": "s1", "type": event_type, "order_id": "o1", "ts": NOW, "source": "passenger"}
    event = decode(names.SAFETY_SIGNALS, {**signal, "lat": 52.5, "lon": 13.4, "note": "help"})
    assert isinstance(event, models.SafetySignal) and event.note == "help"


def test_passenger_decodes_with_defaults() -> None:
    passenger = decode(names.PASSENGERS, {"passenger_id": "p1", "name": "Anna", "locale": "en"})
    assert isinstance(passenger, models.Passenger)
    assert passenger.channels == ["push", "sms"] and passenger.opted_out == [] and passenger.vip is False


BAD_INPUTS = {
    "not_json": (b"{not json", "not JSON"),
    "not_an_object": (b"[1, 2, 3]", "Expected `object`, got `array`"),
    "wrong_type": ({**BASE, "type": "driver.arrived", "ts": "yesterday"}, "Expected `int`, got `str` - at `$.ts`"),
    "bool_is_not_int": ({**BASE, "type": "driver.arrived", "ts": True}, "Expected `int`, got `bool`"),
    "missing_field": ({"event_id": "e1", "type": "driver.arrived", "ts": NOW}, "missing required field `order_id`"),
    "unknown_event_type": ({**BASE, "type": "driver.teleported"}, "Invalid value 'driver.teleported' - at `$.type`"),
    "negative_ts": ({**BASE, "type": "driver.arrived", "ts": -5}, "ts -5 is negative"),
    "absurd_past_ts": ({**BASE, "type": "driver.arrived", "ts": 1_000}, "days in the past"),
    "absurd_future_ts": ({**BASE, "type": "driver.arrived", "ts": NOW + 10 * DAY_MS}, "s in the future"),
    "oversized": ({**BASE, "type": "driver.arrived", "padding": "x" * 5000}, "over the limit of 4096"),
    "invalid_utf8": (b'{"event_id": "\xff\xfe"}', "not valid UTF-8: byte 14"),
    "empty": (b"", "empty message"),
    "empty_order_id": ({**BASE, "type": "driver.arrived", "order_id": ""}, "Expected a non-empty id - at `$.order_id`"),
    "bad_enum": ({**BASE, "type": "order.cancelled", "cancelled_by": "alien"}, "Invalid enum value 'alien' - at `$.cancelled_by`"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_refused_with_a_reason(case: str) -> None:
    value, reason = BAD_INPUTS[case]
    with pytest.raises(BadEvent) as refused:
        decode(names.TRIP_EVENTS, value)
    assert reason in str(refused.value)


def test_unknown_topic_is_refused() -> None:
    with pytest.raises(BadEvent, match="not an input topic"):
        decode("somewhere-else", {**BASE, "type": "driver.arrived"})
