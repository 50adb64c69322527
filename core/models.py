"""The event contract (`../shared/contract/EVENTS.md`) as strict msgspec models.

Why msgspec and not `faust.Record`: faust records coerce (`True` becomes `1`, `5`
becomes `"5"`), and the contract says a wrong type is a bad event. msgspec decodes
strictly, ignores unknown fields (forward compatible) and names the offending path
in its errors (`Expected int, got str - at $.ts`), which is exactly the reason a
dead letter must carry. Faust topics carry raw bytes; `monitor.decoding` turns them
into these models.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

# --- what a sane value looks like (checked by msgspec while decoding) -----------------

MAX_ID_CHARS = 128
# No control characters (they break logs and keys) and no ':' (incident ids are
# `<order_id>:<kind>`, a ':' in the order id would make them ambiguous).
ID_PATTERN = r"^[^\x00-\x1f\x7f-\x9f:]*\Z"  # \Z, not $: $ lets a trailing newline through
MAX_SPEED_KMH = 400.0
MAX_ACCURACY_M = 100_000.0
MAX_AMOUNT_MINOR = 10**10
MAX_MILLIS = 10**14  # year 5138: any bigger "time" is garbage, not a far-off date

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]
Lat = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Lon = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
Millis = Annotated[int, msgspec.Meta(ge=0, le=MAX_MILLIS)]
SpeedKmh = Annotated[float, msgspec.Meta(ge=0.0, le=MAX_SPEED_KMH)]
AccuracyM = Annotated[float, msgspec.Meta(ge=0.0, le=MAX_ACCURACY_M)]
HeadingDeg = Annotated[float, msgspec.Meta(ge=-360.0, le=360.0)]
AmountMinor = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT_MINOR)]
Attempt = Annotated[int, msgspec.Meta(ge=0, le=10_000)]


class Place(msgspec.Struct, frozen=True):
    lat: Lat
    lon: Lon
    address: str | None = None


class Driver(msgspec.Struct, frozen=True):
    id: Id
    name: str
    plate: str
    car: str | None = None
    phone: str | None = None
    # Beyond the contract's fields (optional, compatible): how outreach reaches the driver
    # (docs/outreach.md "Driver outreach").
    push_token: str | None = None
    locale: str | None = None


class Money(msgspec.Struct, frozen=True):
    amount_minor: AmountMinor
    currency: str


LatLon = tuple[Lat, Lon]
# a planned route runs from pickup to dropoff: one point is not a route
Route = Annotated[list[LatLon], msgspec.Meta(min_length=2)]


# --- trip-events -------------------------------------------------------------


class TripEvent(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Fields common to every `trip-events` message."""

    event_id: Id
    order_id: Id
    ts: int  # range checked in monitor.decoding against the wall clock
    city: str | None = None


class OrderCreated(TripEvent, tag="order.created", frozen=True):
    passenger_id: Id
    pickup: Place
    dropoff: Place
    promised_pickup_ts: Millis
    # a compatible extension of the contract, sent by platforms that know them (docs/rules.md)
    account_type: str | None = None  # e.g. personal, business
    payment_method: str | None = None  # e.g. card, cash, corporate, wallet


class DriverAssigned(TripEvent, tag="driver.assigned", frozen=True):
    driver: Driver
    eta_pickup_ts: Millis


class DriverEtaUpdated(TripEvent, tag="driver.eta_updated", frozen=True):
    eta_pickup_ts: Millis


class DriverArrived(TripEvent, tag="driver.arrived", frozen=True):
    pass


class TripStarted(TripEvent, tag="trip.started", frozen=True):
    eta_dropoff_ts: Millis
    route: Route


class TripEtaUpdated(TripEvent, tag="trip.eta_updated", frozen=True):
    eta_dropoff_ts: Millis


class TripRerouted(TripEvent, tag="trip.rerouted", frozen=True):
    route: Route
    eta_dropoff_ts: Millis | None = None


class TripCompleted(TripEvent, tag="trip.completed", frozen=True):
    fare: Money | None = None


class OrderCancelled(TripEvent, tag="order.cancelled", frozen=True):
    cancelled_by: Literal["passenger", "driver", "system"]
    reason: str | None = None


AnyTripEvent = (
    OrderCreated
    | DriverAssigned
    | DriverEtaUpdated
    | DriverArrived
    | TripStarted
    | TripEtaUpdated
    | TripRerouted
    | TripCompleted
    | OrderCancelled
)


# --- telemetry, payments, safety-signals ---------------------------------------


class TelemetryPing(msgspec.Struct, frozen=True):
    order_id: Id
    driver_id: Id
    ts: int
    lat: Lat
    lon: Lon
    speed_kmh: SpeedKmh
    event_id: Id | None = None
    heading_deg: HeadingDeg | None = None
    accuracy_m: AccuracyM | None = None


class PaymentEvent(msgspec.Struct, frozen=True):
    event_id: Id
    type: Literal["payment.authorized", "payment.captured", "payment.failed", "payment.refunded"]
    order_id: Id
    passenger_id: Id
    ts: int
    payment_id: Id
    amount_minor: AmountMinor
    currency: str
    code: str | None = None
    attempt: Attempt | None = None


class SafetySignal(msgspec.Struct, frozen=True):
    event_id: Id
    type: Literal["sos.pressed", "crash.detected", "safety.reported"]
    order_id: Id
    ts: int
    source: Literal["passenger", "driver", "sensor"]
    lat: Lat | None = None
    lon: Lon | None = None
    note: str | None = None


InputEvent = AnyTripEvent | TelemetryPing | PaymentEvent | SafetySignal


# --- passengers (compacted) ------------------------------------------------------


class Passenger(msgspec.Struct, frozen=True):
    passenger_id: Id
    name: str
    locale: str
    phone: str | None = None
    push_token: str | None = None
    channels: list[str] = msgspec.field(default_factory=lambda: ["push", "sms"])
    opted_out: list[str] = []
    vip: bool = False
