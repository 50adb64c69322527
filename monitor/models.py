"""The event contract (`../shared/contract/EVENTS.md`) as strict msgspec models.

Why msgspec and not `faust.Record`: faust records coerce (`True` becomes `1`, `5`
becomes `"5"`), and the contract says a wrong type is a bad event. msgspec decodes
strictly, ignores unknown fields (forward compatible) and names the offending path
in its errors (`Expected int, got str - at $.ts`), which is exactly the reason a
dead letter must carry. Faust topics carry raw bytes; `monitor.decoding` turns them
into these models.
"""

from __future__ import annotations

from typing import Literal

import msgspec


class Place(msgspec.Struct, frozen=True):
    lat: float
    lon: float
    address: str | None = None


class Driver(msgspec.Struct, frozen=True):
    id: str
    name: str
    plate: str
    car: str | None = None
    phone: str | None = None


class Money(msgspec.Struct, frozen=True):
    amount_minor: int
    currency: str


LatLon = tuple[float, float]


# --- trip-events -------------------------------------------------------------


class TripEvent(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Fields common to every `trip-events` message."""

    event_id: str
    order_id: str
    ts: int
    city: str | None = None


class OrderCreated(TripEvent, tag="order.created", frozen=True):
    passenger_id: str
    pickup: Place
    dropoff: Place
    promised_pickup_ts: int


class DriverAssigned(TripEvent, tag="driver.assigned", frozen=True):
    driver: Driver
    eta_pickup_ts: int


class DriverEtaUpdated(TripEvent, tag="driver.eta_updated", frozen=True):
    eta_pickup_ts: int


class DriverArrived(TripEvent, tag="driver.arrived", frozen=True):
    pass


class TripStarted(TripEvent, tag="trip.started", frozen=True):
    eta_dropoff_ts: int
    route: list[LatLon]


class TripEtaUpdated(TripEvent, tag="trip.eta_updated", frozen=True):
    eta_dropoff_ts: int


class TripRerouted(TripEvent, tag="trip.rerouted", frozen=True):
    route: list[LatLon]
    eta_dropoff_ts: int | None = None


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
    order_id: str
    driver_id: str
    ts: int
    lat: float
    lon: float
    speed_kmh: float
    event_id: str | None = None
    heading_deg: float | None = None
    accuracy_m: float | None = None


class PaymentEvent(msgspec.Struct, frozen=True):
    event_id: str
    type: Literal["payment.authorized", "payment.captured", "payment.failed", "payment.refunded"]
    order_id: str
    passenger_id: str
    ts: int
    payment_id: str
    amount_minor: int
    currency: str
    code: str | None = None
    attempt: int | None = None


class SafetySignal(msgspec.Struct, frozen=True):
    event_id: str
    type: Literal["sos.pressed", "crash.detected", "safety.reported"]
    order_id: str
    ts: int
    source: Literal["passenger", "driver", "sensor"]
    lat: float | None = None
    lon: float | None = None
    note: str | None = None


InputEvent = AnyTripEvent | TelemetryPing | PaymentEvent | SafetySignal


# --- passengers (compacted) ------------------------------------------------------


class Passenger(msgspec.Struct, frozen=True):
    passenger_id: str
    name: str
    locale: str
    phone: str | None = None
    push_token: str | None = None
    channels: list[str] = msgspec.field(default_factory=lambda: ["push", "sms"])
    opted_out: list[str] = []
    vip: bool = False
