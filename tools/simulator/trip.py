"""One simulated trip, from order to payment, shaped by its case.

`simulate_trip` is deterministic for (seed, index): each trip draws from its own random
generator, so trips do not depend on each other and a scenario is reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from tools.simulator import cases
from tools.simulator.city import City
from tools.simulator.config import SimConfig
from tools.simulator.emit import Delivery, TripLog
from tools.simulator.geometry import Point, Polyline
from tools.simulator.motion import BRAKE_M, KMH, Motion
from tools.simulator.ride import RidePlan, Station, drive, emit_pings, ping_times

FIRST_NAMES = ("Jonas", "Mehmet", "Anna", "Pavel", "Lukas", "Aylin", "Marek", "Sofia", "Tomasz", "Ines")
LAST_NAMES = ("Weber", "Yilmaz", "Kowalski", "Novak", "Schmidt", "Fischer", "Rossi", "Dubois")
CARS = ("Toyota Prius, white", "Skoda Octavia, black", "VW Passat, grey", "Tesla Model 3, blue")


@dataclass
class TripResult:
    order_id: str
    case: str
    deliveries: list[Delivery]
    labels: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Trip:
    """Everything a case may need to read or change while the trip is generated."""

    config: SimConfig
    city: City
    index: int
    case: str
    start_t: float
    passenger_id: str
    rng: random.Random
    log: TripLog
    labels: list[dict[str, Any]] = field(default_factory=list)
    promised_t: float = 0.0
    arrival_t: float = 0.0  # when the (last) driver arrives at the pickup
    ended_t: float | None = None  # the order ended (cancelled) before the ride
    pickup: Point = (0.0, 0.0)
    planned: Polyline | None = None  # the route from pickup to drop-off
    driver_id: str = ""
    driver_serial: int = 0
    marks: dict[str, Any] = field(default_factory=dict)  # where a case put its anomaly

    @property
    def timing(self) -> Any:
        return self.config.timing

    @property
    def magnitudes(self) -> Any:
        return self.config.magnitudes

    def label(self, kind: str, onset: float) -> None:
        self.labels.append({"kind": kind, "order_id": self.log.order_id, "onset": round(onset, 3)})

    def uniform(self, bounds: tuple[float, float]) -> float:
        return self.rng.uniform(*bounds)

    def new_driver(self) -> dict[str, Any]:
        self.driver_serial += 1
        rng = self.rng
        return {
            "id": f"d-{self.index:05d}-{self.driver_serial}",
            "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "plate": f"B-{rng.choice('ABCDEFGHKLMN')}{rng.choice('PRSTUVWXYZ')} {rng.randint(100, 9999)}",
            "car": rng.choice(CARS),
            "phone": f"+4915{rng.randint(10_000_000, 99_999_999)}",
        }

    def event(self, kind: str, ts: float, **fields: Any) -> dict[str, Any]:
        return self.log.trip_event(kind, ts, city=self.city.name, **fields)

    def payment_id(self, n: int) -> str:
        return f"pay-{self.log.order_id}-{n}"

    def assign(self, ts: float, eta_t: float) -> str:
        driver = self.new_driver()
        self.event("driver.assigned", ts, driver=driver, eta_pickup_ts=round(eta_t, 3))
        self.driver_id = driver["id"]
        return self.driver_id


def simulate_trip(config: SimConfig, index: int, case: str, start_t: float, passenger_id: str) -> TripResult:
    city = City(name=config.city)
    order_id = f"{config.order_prefix}-{index:05d}"
    rng = random.Random(f"{config.seed}:{index}")
    trip = Trip(config, city, index, case, start_t, passenger_id, rng, TripLog(order_id, city.projection))
    pickup = city.random_crossing(rng, margin=8)
    trip.pickup = city.crossing(*pickup)
    trip.planned = cases.planned_route(trip, pickup)
    _order_and_pickup(trip)
    if trip.ended_t is None:
        end_t, fare = _ride(trip)
        _payment(trip, end_t, fare)
    late_p, late_s, duplicate_p = cases.delivery_faults(trip)
    deliveries = trip.log.finish(rng, late_p, late_s, duplicate_p)
    return TripResult(order_id, case, deliveries, trip.labels)


# --- order and pickup -------------------------------------------------------------------


def _order_and_pickup(trip: Trip) -> None:
    t0 = trip.start_t
    if trip.case == "system_cancellation":
        trip.promised_t = t0 + trip.uniform(trip.timing.pickup_lead_s)
        _create_order(trip)
        cases.system_cancellation(trip)
        return
    assigned_t = t0 + trip.uniform(trip.timing.assign_after_s)
    lead = trip.uniform(trip.timing.pickup_lead_s)
    approach = approach_path(trip, max(5.0, (t0 + lead - assigned_t) * 0.8))
    trip.arrival_t = assigned_t + approach.duration
    trip.promised_t = trip.arrival_t + trip.uniform(trip.timing.early_arrival_s)
    _create_order(trip)
    handler = cases.PICKUP_CASES.get(trip.case)
    if handler is not None:
        handler(trip, approach, assigned_t)
        if trip.ended_t is not None:
            return
    else:
        trip.assign(assigned_t, trip.arrival_t)
        approach.emit(trip, trip.driver_id, assigned_t, trip.arrival_t)
        _maybe_eta_update(trip, assigned_t, trip.arrival_t)
    trip.event("driver.arrived", trip.arrival_t)


@dataclass
class Approach:
    """A driver's way to the pickup: a short L-shaped path at a steady pace."""

    path: Polyline
    kmh: float

    @property
    def duration(self) -> float:
        return self.motion(0.0).t

    def motion(self, start_t: float, stuck_at: float | None = None) -> Motion:
        motion = Motion(start_t)
        stop_s = self.path.length * (stuck_at if stuck_at is not None else 1.0)
        motion.drive(max(0.0, stop_s - BRAKE_M), self.kmh)
        motion.brake(stop_s, self.kmh)
        motion.hold(86_400 if stuck_at is not None else 0)
        return motion

    def emit(
        self, trip: Trip, driver_id: str, start_t: float, end_t: float, stuck_at: float | None = None
    ) -> None:
        plan = RidePlan(self.path, self.kmh, self.path.length, gps_sigma_m=trip.timing.gps_sigma_m)
        times = ping_times(start_t, end_t, trip.timing.ping_interval_s, trip.rng)
        emit_pings(trip.log, plan, self.motion(start_t, stuck_at), driver_id, times, trip.rng)


def approach_path(trip: Trip, seconds: float) -> Approach:
    """A driver about `seconds` away from the pickup."""
    pickup = trip.pickup
    kmh = trip.uniform(trip.timing.cruise_kmh)
    metres = seconds * kmh * KMH
    share = trip.rng.uniform(0.2, 0.8)
    sx, sy = trip.rng.choice((-1, 1)), trip.rng.choice((-1, 1))
    start = (pickup[0] + sx * metres * share, pickup[1] + sy * metres * (1 - share))
    return Approach(Polyline([start, (pickup[0], start[1]), pickup]), kmh)


def _create_order(trip: Trip) -> None:
    assert trip.planned is not None
    lat, lon = trip.city.projection.to_latlon(trip.pickup)
    to_lat, to_lon = trip.city.projection.to_latlon(trip.planned.points[-1])
    trip.event(
        "order.created",
        trip.start_t,
        passenger_id=trip.passenger_id,
        pickup={"lat": lat, "lon": lon},
        dropoff={"lat": to_lat, "lon": to_lon},
        promised_pickup_ts=round(trip.promised_t, 3),
    )
    trip.log.payment("payment.authorized", trip.start_t + 1.0, trip.passenger_id, trip.payment_id(1), 2500)


def _maybe_eta_update(trip: Trip, assigned_t: float, arrival_t: float) -> None:
    if trip.rng.random() < 0.3 and arrival_t - assigned_t > 10:
        at = trip.rng.uniform(assigned_t + 2, arrival_t - 5)
        trip.event("driver.eta_updated", at, eta_pickup_ts=round(arrival_t + trip.rng.uniform(-20, 20), 3))


# --- the ride -----------------------------------------------------------------------------


def _ride(trip: Trip) -> tuple[float, int]:
    """Board, drive, complete; returns the completion time and the fare."""
    city, rng = trip.city, trip.rng
    arrived_t = trip.arrival_t
    start_t = arrived_t + trip.uniform(trip.timing.boarding_s)
    planned = trip.planned
    assert planned is not None
    plan = RidePlan(planned, trip.uniform(trip.timing.cruise_kmh), planned.length)
    plan.gps_sigma_m = trip.timing.gps_sigma_m
    plan.stations = [
        Station(s, "stop", trip.uniform(trip.timing.red_light_s))
        for s in city.signals_along(planned)
        if rng.random() < trip.timing.red_light_p
    ]
    nominal = drive(_copy_plan(plan), start_t, random.Random(0)).t - start_t
    eta_t = start_t + nominal * rng.uniform(0.97, 1.08)
    trip.event("trip.started", start_t, eta_dropoff_ts=round(eta_t, 3), route=_latlon(trip, planned))
    handler = cases.RIDE_CASES.get(trip.case, cases.RideCase())
    handler.shape(trip, plan)
    motion = drive(plan, start_t, rng)
    handler.timed(trip, plan, motion, eta_t)
    _waiting_pings(trip, arrived_t, start_t)
    times = ping_times(start_t, motion.t, trip.timing.ping_interval_s, rng)
    times = emit_pings(trip.log, plan, motion, trip.driver_id, times, rng)
    handler.after(trip, plan, times)
    if trip.case not in cases.RIDE_CASES and rng.random() < 0.3:
        at = rng.uniform(start_t + 5, max(start_t + 6, motion.t - 10))
        trip.event("trip.eta_updated", at, eta_dropoff_ts=round(eta_t + rng.uniform(-60, 60), 3))
    trip.event("trip.completed", motion.t + 1.0, fare={"amount_minor": _fare(plan), "currency": "EUR"})
    return motion.t + 1.0, _fare(plan)


def _waiting_pings(trip: Trip, arrived_t: float, start_t: float) -> None:
    plan = RidePlan(Polyline([trip.pickup]), 1.0, 0.0, gps_sigma_m=trip.timing.gps_sigma_m)
    times = ping_times(arrived_t + 1.0, start_t - 1.0, trip.timing.ping_interval_s, trip.rng)
    emit_pings(trip.log, plan, Motion(arrived_t), trip.driver_id, [t for t in times if t < start_t], trip.rng)


def _copy_plan(plan: RidePlan) -> RidePlan:
    return RidePlan(plan.driven, plan.cruise_kmh, plan.end_s, list(plan.stations))


def _latlon(trip: Trip, path: Polyline) -> list[list[float]]:
    return [list(trip.city.projection.to_latlon(p)) for p in path.points]


def _fare(plan: RidePlan) -> int:
    return 390 + int(plan.end_s / 1000 * 160)


# --- payment -----------------------------------------------------------------------------


def _payment(trip: Trip, completed_t: float, fare: int) -> None:
    handler = cases.PAYMENT_CASES.get(trip.case)
    if handler is not None:
        handler(trip, completed_t, fare)
        return
    at = completed_t + trip.rng.uniform(1, 3)
    trip.log.payment("payment.captured", at, trip.passenger_id, trip.payment_id(1), fare)
