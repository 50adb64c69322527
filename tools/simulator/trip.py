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
from tools.simulator.geometry import Polyline
from tools.simulator.motion import Motion
from tools.simulator.ride import RidePlan, Station, drive, emit_pings, ping_times
from tools.simulator.trip_model import Trip, approach_path


@dataclass
class TripResult:
    order_id: str
    case: str
    deliveries: list[Delivery]
    labels: list[dict[str, Any]] = field(default_factory=list)


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
