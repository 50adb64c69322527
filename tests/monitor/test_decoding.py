"""Strict decoding of every contract type, as plain function calls."""

from __future__ import annotations

import json
import time

import msgspec
import orjson
import pytest

from core import models, names
from monitor import decoding
from monitor.decoding import DAY_MS, MAX_REASON_CHARS, BadEvent, DecodeLimits, decode_event

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


# --- the issue's ten bad inputs: each a BadEvent with a reason ---------------------------

PING = {"order_id": "o1", "driver_id": "d1", "ts": NOW, "lat": 52.5, "lon": 13.4, "speed_kmh": 31.0}
ORDER_CREATED = {**BASE, "type": "order.created", **TRIP_EVENTS["order.created"][1]}

TEN_BAD_INPUTS = {
    "not_json": (names.TRIP_EVENTS, b"<xml>nope</xml>", "not JSON"),
    "invalid_utf8": (names.TELEMETRY, b'{"order_id": "o1\xc3\x28"}', "not valid UTF-8"),
    "json_array": (names.PAYMENTS, b'[{"order_id": "o1"}]', "Expected `object`, got `array`"),
    "missing_order_id": (names.SAFETY_SIGNALS, {"event_id": "s1", "type": "sos.pressed", "ts": NOW, "source": "driver"}, "missing required field `order_id`"),
    "string_ts": (names.TRIP_EVENTS, {**BASE, "type": "driver.arrived", "ts": "1790000000000"}, "Expected `int`, got `str` - at `$.ts`"),
    "unknown_type": (names.TRIP_EVENTS, {**BASE, "type": "order.teleported"}, "at `$.type`"),
    "pickup_lat_999": (names.TRIP_EVENTS, {**ORDER_CREATED, "pickup": {"lat": 999, "lon": 13.4}}, "<= 90.0 - at `$.pickup.lat`"),
    "ts_ten_days_ahead": (names.TELEMETRY, {**PING, "ts": NOW + 10 * DAY_MS}, "s in the future"),
    "nan_in_telemetry": (names.TELEMETRY, b'{"order_id": "o1", "driver_id": "d1", "ts": 1790000000000, "lat": NaN, "lon": 13.4, "speed_kmh": 3}', "not JSON"),
    "nesting_5000_levels": (names.TRIP_EVENTS, b"[" * 5000 + b"]" * 5000, "nested 5000 levels deep"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(TEN_BAD_INPUTS))
def test_each_of_the_ten_bad_inputs_is_a_bad_event_with_a_reason(case: str) -> None:
    topic, value, reason = TEN_BAD_INPUTS[case]
    raw = value if isinstance(value, bytes) else orjson.dumps(value)
    with pytest.raises(BadEvent) as refused:
        decode_event(topic, raw, BIG_LIMITS, now_ms=NOW, key=b"o1")
    assert reason in str(refused.value)


# --- contract checks at the door ---------------------------------------------------------

BIG_LIMITS = DecodeLimits(max_bytes=10_000_000, max_age_ms=30 * DAY_MS, max_future_ms=3_600_000)
PAYMENT = {
    "event_id": "pay1", "type": "payment.captured", "order_id": "o1", "passenger_id": "p1", "ts": NOW,
    "payment_id": "pm1", "amount_minor": 1250, "currency": "EUR",
}  # fmt: skip
SIGNAL = {"event_id": "s1", "type": "sos.pressed", "order_id": "o1", "ts": NOW, "source": "passenger"}
ASSIGNED = {**BASE, "type": "driver.assigned", **TRIP_EVENTS["driver.assigned"][1]}
STARTED = {**BASE, "type": "trip.started", **TRIP_EVENTS["trip.started"][1]}
COMPLETED = {**BASE, "type": "trip.completed", **TRIP_EVENTS["trip.completed"][1]}
PASSENGER = {"passenger_id": "p1", "name": "Anna", "locale": "en"}
LONG_ID = "o" * 129
NOT_AN_ID = "Expected an id without control characters or ':'"

CONTRACT_BREACHES = {
    # name: (topic, body, reason)
    "order_id_with_colon": (names.TRIP_EVENTS, {**BASE, "type": "driver.arrived", "order_id": "o1:sos"}, f"{NOT_AN_ID} - at `$.order_id`"),
    "order_id_with_nul": (names.TELEMETRY, {**PING, "order_id": "o1\x00"}, f"{NOT_AN_ID} - at `$.order_id`"),
    "order_id_with_trailing_newline": (names.TELEMETRY, {**PING, "order_id": "o1\n"}, f"{NOT_AN_ID} - at `$.order_id`"),
    "order_id_of_129_chars": (names.SAFETY_SIGNALS, {**SIGNAL, "order_id": LONG_ID}, "Expected an id of at most 128 characters - at `$.order_id`"),
    "order_id_of_60000_chars": (names.SAFETY_SIGNALS, {**SIGNAL, "order_id": "o" * 60_000}, "at most 128 characters"),
    "empty_event_id": (names.PAYMENTS, {**PAYMENT, "event_id": ""}, "Expected a non-empty id - at `$.event_id`"),
    "event_id_with_escape_char": (names.TELEMETRY, {**PING, "event_id": "g\x1b[31m"}, f"{NOT_AN_ID} - at `$.event_id`"),
    "driver_id_with_colon": (names.TELEMETRY, {**PING, "driver_id": "d:1"}, f"{NOT_AN_ID} - at `$.driver_id`"),
    "driver_dot_id_with_c1_control": (names.TRIP_EVENTS, {**ASSIGNED, "driver": {**ASSIGNED["driver"], "id": "d\x85"}}, f"{NOT_AN_ID} - at `$.driver.id`"),
    "passenger_id_too_long": (names.TRIP_EVENTS, {**ORDER_CREATED, "passenger_id": LONG_ID}, "at `$.passenger_id`"),
    "payment_id_empty": (names.PAYMENTS, {**PAYMENT, "payment_id": ""}, "Expected a non-empty id - at `$.payment_id`"),
    "payment_passenger_id_with_colon": (names.PAYMENTS, {**PAYMENT, "passenger_id": "p:1"}, "at `$.passenger_id`"),
    "passenger_record_id_with_colon": (names.PASSENGERS, {**PASSENGER, "passenger_id": "p:1"}, f"{NOT_AN_ID} - at `$.passenger_id`"),
    "telemetry_lat_minus_91": (names.TELEMETRY, {**PING, "lat": -91.0}, "Expected `float` >= -90.0 - at `$.lat`"),
    "telemetry_lon_181": (names.TELEMETRY, {**PING, "lon": 181.0}, "Expected `float` <= 180.0 - at `$.lon`"),
    "dropoff_lon_minus_181": (names.TRIP_EVENTS, {**ORDER_CREATED, "dropoff": {"lat": 1.0, "lon": -181}}, "at `$.dropoff.lon`"),
    "route_point_lat_95": (names.TRIP_EVENTS, {**STARTED, "route": [[52.5, 13.4], [95.0, 13.5]]}, "<= 90.0 - at `$.route[1][0]`"),
    "safety_signal_lon_200": (names.SAFETY_SIGNALS, {**SIGNAL, "lat": 52.5, "lon": 200.0}, "<= 180.0 - at `$.lon`"),
    "negative_speed": (names.TELEMETRY, {**PING, "speed_kmh": -1.0}, "Expected `float` >= 0.0 - at `$.speed_kmh`"),
    "speed_1e308": (names.TELEMETRY, {**PING, "speed_kmh": 1e308}, "Expected `float` <= 400.0 - at `$.speed_kmh`"),
    "negative_accuracy": (names.TELEMETRY, {**PING, "accuracy_m": -3.0}, "Expected `float` >= 0.0 - at `$.accuracy_m`"),
    "absurd_accuracy": (names.TELEMETRY, {**PING, "accuracy_m": 1e9}, "at `$.accuracy_m`"),
    "heading_1000": (names.TELEMETRY, {**PING, "heading_deg": 1000.0}, "at `$.heading_deg`"),
    "negative_amount": (names.PAYMENTS, {**PAYMENT, "amount_minor": -1}, "Expected `int` >= 0 - at `$.amount_minor`"),
    "amount_10_to_the_30": (names.PAYMENTS, {**PAYMENT, "amount_minor": 10**30}, "at `$.amount_minor`"),
    "fare_of_10_to_the_11": (names.TRIP_EVENTS, {**COMPLETED, "fare": {"amount_minor": 10**11, "currency": "EUR"}}, "at `$.fare.amount_minor`"),
    "failed_payment_attempt_minus_1": (names.PAYMENTS, {**PAYMENT, "type": "payment.failed", "code": "x", "attempt": -1}, "at `$.attempt`"),
    "one_point_route": (names.TRIP_EVENTS, {**STARTED, "route": [[52.5, 13.4]]}, "Expected a route of at least two points - at `$.route`"),
    "empty_route": (names.TRIP_EVENTS, {**STARTED, "route": []}, "Expected a route of at least two points - at `$.route`"),
    "one_point_reroute": (names.TRIP_EVENTS, {**BASE, "type": "trip.rerouted", "route": [[52.5, 13.4]]}, "at least two points - at `$.route`"),
    "eta_of_10_to_the_20": (names.TRIP_EVENTS, {**BASE, "type": "trip.eta_updated", "eta_dropoff_ts": 10**20}, "at `$.eta_dropoff_ts`"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CONTRACT_BREACHES))
def test_contract_breach_is_refused_with_its_path(case: str) -> None:
    topic, body, reason = CONTRACT_BREACHES[case]
    key = str(body.get("passenger_id" if topic == names.PASSENGERS else "order_id", "")).encode()
    raw = json.dumps(body).encode()  # not orjson: it refuses ints beyond 64 bits
    with pytest.raises(BadEvent) as refused:
        decode_event(topic, raw, BIG_LIMITS, now_ms=NOW, key=key)
    assert reason in str(refused.value)


def test_infinity_as_a_huge_number_is_out_of_range() -> None:
    raw = orjson.dumps(PING).replace(b'"lat":52.5', b'"lat":1e999')
    with pytest.raises(BadEvent, match=r"Number out of range - at `\$.lat`"):
        decode_event(names.TELEMETRY, raw, BIG_LIMITS, now_ms=NOW)


GOOD_EDGES = {
    "id_of_128_chars": (names.TELEMETRY, {**PING, "order_id": "o" * 128}),
    "unicode_ids": (names.TRIP_EVENTS, {**BASE, "type": "driver.arrived", "order_id": "订单-Ünï-🚕", "event_id": "é"}),
    "poles_and_antimeridian": (names.TELEMETRY, {**PING, "lat": -90.0, "lon": 180.0}),
    "standing_still_with_exact_fix": (names.TELEMETRY, {**PING, "speed_kmh": 0.0, "accuracy_m": 0.0}),
    "free_ride": (names.PAYMENTS, {**PAYMENT, "amount_minor": 0}),
    "two_point_route": (names.TRIP_EVENTS, STARTED),
    "safety_signal_without_position": (names.SAFETY_SIGNALS, SIGNAL),
    "passenger_record": (names.PASSENGERS, PASSENGER),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(GOOD_EDGES))
def test_values_at_the_edge_of_the_contract_are_accepted(case: str) -> None:
    topic, body = GOOD_EDGES[case]
    key = body.get("passenger_id" if topic == names.PASSENGERS else "order_id").encode()
    event = decode_event(topic, orjson.dumps(body), BIG_LIMITS, now_ms=NOW, key=key)
    assert msgspec.to_builtins(event).items() >= {k: v for k, v in body.items() if k != "route"}.items()


# --- the message key -------------------------------------------------------------------


@pytest.mark.parametrize("topic, body", [
    (names.TRIP_EVENTS, {**BASE, "type": "driver.arrived"}),
    (names.TELEMETRY, PING),
    (names.PAYMENTS, PAYMENT),
    (names.SAFETY_SIGNALS, SIGNAL),
])  # fmt: skip
def test_key_that_is_not_the_order_id_is_refused(topic: str, body: dict) -> None:
    with pytest.raises(BadEvent, match=r"message key b'o2' is not the order_id 'o1' - at `\$.order_id`"):
        decode_event(topic, orjson.dumps(body), BIG_LIMITS, now_ms=NOW, key=b"o2")
    assert decode_event(topic, orjson.dumps(body), BIG_LIMITS, now_ms=NOW, key=b"o1").order_id == "o1"


def test_passenger_record_is_keyed_by_passenger_id() -> None:
    raw = orjson.dumps(PASSENGER)
    assert decode_event(names.PASSENGERS, raw, BIG_LIMITS, key=b"p1").passenger_id == "p1"
    with pytest.raises(BadEvent, match="is not the passenger_id 'p1'"):
        decode_event(names.PASSENGERS, raw, BIG_LIMITS, key=b"o1")


def test_message_without_a_key_is_refused() -> None:
    with pytest.raises(BadEvent, match="message has no key: expected the order_id 'o1'"):
        decode_event(names.TELEMETRY, orjson.dumps(PING), BIG_LIMITS, now_ms=NOW, key=None)


def test_huge_key_is_shown_cut() -> None:
    with pytest.raises(BadEvent) as refused:
        decode_event(names.TELEMETRY, orjson.dumps(PING), BIG_LIMITS, now_ms=NOW, key=b"k" * 1_000_000)
    assert "(1000000 bytes)" in str(refused.value) and len(str(refused.value)) <= MAX_REASON_CHARS


# --- nothing but BadEvent leaves the decoder ---------------------------------------------


@pytest.mark.parametrize("levels", [33, 5_000, 10_000, 100_000])
@pytest.mark.parametrize("opener, closer", [(b"[", b"]"), (b'{"a":', b"}")])
def test_deep_nesting_is_refused_on_every_topic(levels: int, opener: bytes, closer: bytes) -> None:
    for topic in (*names.INPUT_TOPICS, names.PASSENGERS):
        raw = b'{"order_id": "o1", "x": ' + opener * levels + b"1" + closer * levels + b"}"
        with pytest.raises(BadEvent, match=f"nested {levels + 1} levels deep, over the limit of 32"):
            decode_event(topic, raw, BIG_LIMITS, now_ms=NOW, key=b"o1")


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    note = "[[[[" * 40 + '{"' * 20
    event = decode(names.SAFETY_SIGNALS, {**SIGNAL, "note": note})
    assert event.note == note


def test_long_route_is_not_mistaken_for_deep_nesting() -> None:
    route = [[52.5 + i / 1e4, 13.4] for i in range(2_000)]
    raw = orjson.dumps({**STARTED, "route": route})
    assert len(decode_event(names.TRIP_EVENTS, raw, BIG_LIMITS, now_ms=NOW).route) == 2_000


def test_unterminated_string_full_of_escaped_quotes_is_refused_quickly() -> None:
    # a naive string pattern retries from every escaped quote: quadratic, ~20 s on these 64 KB
    raw = b"[" * 40 + b'"' + b'\\"' * 32_000
    started = time.perf_counter()
    with pytest.raises(BadEvent):
        decode_event(names.TELEMETRY, raw, BIG_LIMITS, now_ms=NOW)
    assert time.perf_counter() - started < 2.0


def test_reason_quoting_a_huge_value_is_bounded() -> None:
    body = {**BASE, "type": "order.cancelled", "cancelled_by": "x" * 1_000_000}
    with pytest.raises(BadEvent) as refused:
        decode_event(names.TRIP_EVENTS, orjson.dumps(body), BIG_LIMITS, now_ms=NOW)
    reason = str(refused.value)
    assert len(reason) <= MAX_REASON_CHARS and reason.endswith("at `$.cancelled_by`")


class ExplodingDecoder:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def decode(self, raw: bytes) -> object:
        raise self.error


@pytest.mark.parametrize("error, reason", [
    (RecursionError("maximum recursion depth exceeded"), "nested too deeply for the decoder"),
    (MemoryError(), "could not be decoded: MemoryError"),
    (KeyError("surprise"), "could not be decoded: KeyError: 'surprise'"),
])  # fmt: skip
def test_any_failure_inside_the_decoder_becomes_a_bad_event(monkeypatch, error, reason) -> None:
    monkeypatch.setitem(decoding._DECODERS, names.TELEMETRY, ExplodingDecoder(error))
    with pytest.raises(BadEvent, match=reason):
        decode_event(names.TELEMETRY, orjson.dumps(PING), BIG_LIMITS, now_ms=NOW)
