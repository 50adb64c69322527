"""What each case does to a trip: injected incidents (with their labels) and hard negatives.

Onsets are event time (scenario seconds) of the moment the anomaly begins: the event
that is the problem (a cancellation, an SOS, a failed payment, an ETA past the promise),
the promised pickup time that passes, the moment the car leaves the route or stands
still, the last ping before the silence. Time to detect therefore includes each rule's
own grace or sustain window.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tools.simulator import stops
from tools.simulator.geometry import Point, Polyline, distance, distance_to_polyline
from tools.simulator.motion import KMH, Motion
from tools.simulator.ride import RidePlan, Station, with_excursion
from tools.simulator.trip_model import Approach, Trip, approach_path

FAILURE_CODES = ("card_declined", "insufficient_funds", "expired_card")
LONG_RIDES = {
    "early_end": (2800.0, 4000.0),
    "signal_lost": (3000.0, 4200.0),
}
MID_RIDES = (
    "route_deviation",
    "long_stop",
    "stop_checkin",
    "crash_suspected",
    "sos",
    "trip_delay",
    "traffic_jam",
    "jam_standstill",
)


# --- delivery -----------------------------------------------------------------------------


def delivery_faults(trip: Trip) -> tuple[float, tuple[float, float], float]:
    """(late probability, late by, duplicate probability) for this trip's events."""
    timing = trip.timing
    if trip.case == "late_events":
        return 0.6, trip.magnitudes.late_events_s, timing.duplicate_p
    if trip.case == "duplicate_events":
        return timing.late_p, timing.late_s, 1.0
    return timing.late_p, timing.late_s, timing.duplicate_p


# --- before the ride ---------------------------------------------------------------------------


def system_cancellation(trip: Trip) -> None:
    at = trip.start_t + min(trip.rng.uniform(15, 45), (trip.promised_t - trip.start_t) * 0.7)
    trip.event("order.cancelled", at, cancelled_by="system", reason="no driver found")
    trip.label("system_cancellation", at)
    trip.ended_t = at


def _cancel(trip: Trip, at: float, by: str, reason: str) -> None:
    trip.event("order.cancelled", at, cancelled_by=by, reason=reason)
    trip.ended_t = at


def _pickup_delay(trip: Trip, approach: Approach, assigned_t: float) -> None:
    """The driver is stuck in traffic; the passenger gives up and cancels."""
    trip.assign(assigned_t, trip.arrival_t)
    if trip.rng.random() < 0.5:  # silent: only the promise passes
        cancel_t = trip.promised_t + trip.magnitudes.pickup_late_s
        trip.label("pickup_delay", trip.promised_t)
    else:  # the ETA says it
        eta_at = assigned_t + min(trip.rng.uniform(3, 10), (trip.promised_t - assigned_t) / 2)
        eta = trip.promised_t + trip.magnitudes.pickup_eta_slip_s
        trip.event("driver.eta_updated", eta_at, eta_pickup_ts=round(eta, 3))
        cancel_t = eta_at + min(trip.rng.uniform(20, 40), trip.magnitudes.pickup_late_s)
        trip.label("pickup_delay", eta_at)
    approach.emit(trip, trip.driver_id, assigned_t, cancel_t, stuck_at=0.4)
    _cancel(trip, cancel_t, "passenger", "driver did not come")


def _driver_cancellation(trip: Trip, approach: Approach, assigned_t: float) -> None:
    """The first driver cancels on the way; another one is assigned and arrives in time."""
    trip.assign(assigned_t, trip.arrival_t)
    cancel_t = assigned_t + min(trip.rng.uniform(8, 20), approach.duration * 0.5)
    approach.emit(trip, trip.driver_id, assigned_t, cancel_t)
    trip.event("order.cancelled", cancel_t, cancelled_by="driver", reason="vehicle problem")
    trip.label("driver_cancellation", cancel_t)
    reassigned_t = cancel_t + trip.rng.uniform(2, 5)
    second = approach_path(trip, max(5.0, trip.promised_t - reassigned_t - 5))
    trip.arrival_t = reassigned_t + second.duration
    trip.assign(reassigned_t, trip.arrival_t)
    second.emit(trip, trip.driver_id, reassigned_t, trip.arrival_t)


def _passenger_cancel(trip: Trip, approach: Approach, assigned_t: float) -> None:
    trip.assign(assigned_t, trip.arrival_t)
    cancel_t = assigned_t + min(trip.rng.uniform(5, 20), approach.duration * 0.7)
    approach.emit(trip, trip.driver_id, assigned_t, cancel_t)
    _cancel(trip, cancel_t, "passenger", "changed plans")


PICKUP_CASES: dict[str, Callable[[Trip, Approach, float], None]] = {
    "pickup_delay": _pickup_delay,
    "driver_cancellation": _driver_cancellation,
    "passenger_cancel": _passenger_cancel,
}


# --- the planned route ------------------------------------------------------------------------


def planned_route(trip: Trip, pickup: tuple[int, int]) -> Polyline:
    city, rng = trip.city, trip.rng
    if trip.case == "reroute":
        return _reroute_routes(trip, pickup)
    low, high = trip.timing.ride_m
    low, high = LONG_RIDES.get(
        trip.case, (max(low, 1500), max(high, 2500)) if trip.case in MID_RIDES else (low, high)
    )
    dropoff = city.crossing_at_distance(rng, pickup, rng.uniform(low, high))
    return city.route(rng, pickup, dropoff)


def _reroute_routes(trip: Trip, pickup: tuple[int, int]) -> Polyline:
    """An L route east-west first; the accepted reroute turns north-south two blocks in."""
    i, j = pickup
    sx = -1 if i > 0 else 1
    sy = -1 if j > 0 else 1
    dropoff = (i + sx * trip.rng.randint(5, 8), j + sy * trip.rng.randint(5, 8))
    turn = (i + 2 * sx, j)
    trip.marks["reroute"] = (
        trip.city.crossing(i + sx, j),
        trip.city.l_route(turn, dropoff, east_west_first=False),
    )
    return trip.city.l_route(pickup, dropoff, east_west_first=True)


# --- during the ride ------------------------------------------------------------------------


def _noop(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class RideCase:
    """Hooks of a case into the ride: shape the plan; then, with the motion known, add
    events and silences (`timed`); then, with the ping times known, label (`after`)."""

    shape: Callable[[Trip, RidePlan], None] = _noop
    timed: Callable[[Trip, RidePlan, Motion, float], None] = _noop
    after: Callable[[Trip, RidePlan, list[float]], None] = _noop


def _mid_time(motion: Motion, trip: Trip, low: float, high: float) -> float:
    return motion.start_t + (motion.t - motion.start_t) * trip.rng.uniform(low, high)


def _clear_stations(plan: RidePlan, low: float, high: float) -> None:
    plan.stations = [st for st in plan.stations if not low <= st.s <= high]


def _excursion(trip: Trip, plan: RidePlan, s: float, points: list[Point]) -> float:
    plan.driven, added = with_excursion(plan.driven, s, points)
    plan.end_s += added
    plan.stations = [
        Station(st.s + added, st.action, st.seconds, st.until_s + added, st.kmh) if st.s > s else st
        for st in plan.stations
    ]
    return added


def _sides(path: Polyline, s: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Unit vectors along the path at `s` and to its left."""
    heading = math.radians(path.heading_deg(s))
    along = (math.sin(heading), math.cos(heading))
    return along, (-along[1], along[0])


def _deviation_shape(trip: Trip, plan: RidePlan) -> None:
    planned = plan.driven
    s = planned.length * trip.rng.uniform(0.3, 0.5)
    here = planned.at(s)
    along, left = _sides(planned, s)
    depth = trip.magnitudes.detour_m
    reach = trip.magnitudes.detour_hold_s * plan.cruise_kmh * KMH
    best: tuple[float, list[Point]] = (-1.0, [])
    for side in (1, -1):
        for forward in (1, -1):
            out = (here[0] + side * left[0] * depth, here[1] + side * left[1] * depth)
            far = (out[0] + forward * along[0] * reach, out[1] + forward * along[1] * reach)
            clearance = min(distance_to_polyline(p, planned.points) for p in (out, far))
            if clearance > best[0]:
                best = (clearance, [out, far, out])
    _clear_stations(plan, s - 40, s + 40)
    _excursion(trip, plan, s, best[1])
    trip.marks["leave_s"] = s


def _deviation_timed(trip: Trip, plan: RidePlan, motion: Motion, eta_t: float) -> None:
    trip.label("route_deviation", motion.time_at(trip.marks["leave_s"]))


def _long_stop_shape(trip: Trip, plan: RidePlan) -> None:
    planned, dropoff = plan.driven, plan.driven.points[-1]
    s = planned.length * 0.5
    for fraction in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55):
        s = planned.length * trip.rng.uniform(fraction - 0.05, fraction)
        if distance(planned.at(s), dropoff) > 500:
            break
    here = planned.at(s)
    _, left = _sides(planned, s)
    offset = trip.magnitudes.long_stop_offset_m
    spots = [(here[0] + k * left[0] * offset, here[1] + k * left[1] * offset) for k in (1, -1)]
    spot = max(spots, key=lambda p: distance_to_polyline(p, planned.points))
    _clear_stations(plan, s - 60, s + 60)
    _excursion(trip, plan, s, [spot])
    plan.stations.append(Station(s + offset, "stop", trip.magnitudes.long_stop_s))
    trip.marks["stop_s"] = s + offset


def _long_stop_timed(trip: Trip, plan: RidePlan, motion: Motion, eta_t: float) -> None:
    stopped_t = plan.standstills[trip.marks["stop_s"]]
    trip.label("long_stop", stopped_t)
    trip.label("stop_checkin", stopped_t)  # beside the route the soft check-in asks first (90 s)


def _crash_shape(trip: Trip, plan: RidePlan) -> None:
    s = plan.driven.length * trip.rng.uniform(0.35, 0.6)
    _clear_stations(plan, s - 250, s + 60)
    m = trip.magnitudes
    plan.stations.append(Station(s, "crash", m.crash_stop_s, kmh=m.crash_from_kmh))
    trip.marks["crash_s"] = s


def _crash_timed(trip: Trip, plan: RidePlan, motion: Motion, eta_t: float) -> None:
    crash_t = plan.standstills[trip.marks["crash_s"]]
    plan.exact_pings = [(crash_t - 1.0, trip.magnitudes.crash_from_kmh), (crash_t + 0.5, 0.0)]
    trip.label("crash_suspected", crash_t)
    if trip.rng.random() < 0.6:
        trip.log.safety("crash.detected", crash_t, "sensor", plan.driven.at(trip.marks["crash_s"]))


def _signal_timed(trip: Trip, plan: RidePlan, motion: Motion, eta_t: float) -> None:
    gap = trip.magnitudes.signal_gap_s
    start = min(_mid_time(motion, trip, 0.1, 0.2), motion.t - gap - 30)
    plan.gaps.append((max(motion.start_t + 10, start), max(motion.start_t + 10, start) + gap))


def _signal_after(trip: Trip, plan: RidePlan, times: list[float]) -> None:
    silence_from = plan.gaps[0][0]
    trip.label("signal_lost", max(t for t in times if t < silence_from))


def _early_end_shape(trip: Trip, plan: RidePlan) -> None:
    dropoff, path = plan.driven.points[-1], plan.driven
    s = path.length * 0.25
    while s < path.length * 0.7 and distance(path.at(s), dropoff) < trip.magnitudes.early_end_m + 100:
        s += 50
    plan.end_s = s


def _early_end_timed(trip: Trip, plan: RidePlan, motion: Motion, eta_t: float) -> None:
    trip.label("early_end", motion.t + 1.0)  # trip.completed is sent a second after the stop


def _sos_timed(trip: Trip, plan: RidePlan, motion: Motion, eta_t: float) -> None:
    at = _mid_time(motion, trip, 0.3, 0.7)
    source = "passenger" if trip.rng.random() < 0.7 else "driver"
    trip.log.safety("sos.pressed", at, source, plan.driven.at(motion.at(at)[0]))
    trip.label("sos", at)
    if trip.rng.random() < 0.5:  # and reports what happened, a little later
        later = at + trip.rng.uniform(10, 30)
        trip.log.safety("safety.reported", later, source, None, note="aggressive behaviour")


def _trip_delay_timed(trip: Trip, plan: RidePlan, motion: Motion, eta_t: float) -> None:
    at = _mid_time(motion, trip, 0.2, 0.5)
    trip.event("trip.eta_updated", at, eta_dropoff_ts=round(eta_t + trip.magnitudes.trip_eta_slip_s, 3))
    trip.label("trip_delay", at)


def _jam_shape(trip: Trip, plan: RidePlan) -> None:
    m = trip.magnitudes
    start = plan.driven.length * trip.rng.uniform(0.2, 0.4)
    kmh = trip.rng.uniform(*m.jam_kmh)
    until = min(start + kmh * KMH * trip.rng.uniform(*m.jam_s) * 0.75, plan.driven.length * 0.85)
    _clear_stations(plan, start - 40, until + 40)
    plan.stations.append(Station(start, "jam", until_s=until, kmh=kmh))
    trip.marks["jam_s"] = start


def _jam_timed(trip: Trip, plan: RidePlan, motion: Motion, eta_t: float) -> None:
    at = motion.time_at(trip.marks["jam_s"]) + 5
    trip.event("trip.eta_updated", at, eta_dropoff_ts=round(eta_t + trip.magnitudes.jam_eta_slip_s, 3))


def _red_light_shape(trip: Trip, plan: RidePlan) -> None:
    block = trip.city.block_m
    crossings = [k * block for k in range(1, int(plan.driven.length // block))] or [plan.driven.length / 2]
    s = trip.rng.choice(crossings)
    _clear_stations(plan, s - 40, s + 40)
    plan.stations.append(Station(s, "stop", trip.rng.uniform(*trip.magnitudes.red_light_long_s)))


def _reroute_shape(trip: Trip, plan: RidePlan) -> None:
    before, new_route = trip.marks["reroute"]
    planned = plan.driven
    turn_s = 2 * trip.city.block_m
    driven = Polyline(
        [
            *[p for p, c in zip(planned.points, planned.cumulative, strict=True) if c < turn_s],
            *new_route.points,
        ]
    )
    plan.driven, plan.end_s = driven, driven.length
    plan.stations = [st for st in plan.stations if st.s < turn_s - 40] + [
        Station(s, "stop", trip.uniform(trip.timing.red_light_s))
        for s in trip.city.signals_along(driven)
        if s > turn_s + 40 and trip.rng.random() < trip.timing.red_light_p
    ]
    trip.marks["reroute_points"] = [before, *new_route.points]


def _reroute_timed(trip: Trip, plan: RidePlan, motion: Motion, eta_t: float) -> None:
    at = motion.time_at(2 * trip.city.block_m - 100)
    route = [list(trip.city.projection.to_latlon(p)) for p in trip.marks["reroute_points"]]
    eta = eta_t + trip.rng.uniform(0, 30)
    trip.event("trip.rerouted", at, route=route, eta_dropoff_ts=round(eta, 3))


def _jitter_shape(trip: Trip, plan: RidePlan) -> None:
    plan.gps_sigma_m = trip.magnitudes.jitter_sigma_m
    plan.outlier_m = trip.magnitudes.outlier_m
    plan.outlier_accuracy_m = trip.magnitudes.outlier_accuracy_m
    plan.outliers = 1


def _tunnel_timed(trip: Trip, plan: RidePlan, motion: Motion, eta_t: float) -> None:
    start = _mid_time(motion, trip, 0.3, 0.6)
    plan.gaps.append((start, start + trip.rng.uniform(*trip.magnitudes.tunnel_s)))


RIDE_CASES: dict[str, RideCase] = {
    "route_deviation": RideCase(shape=_deviation_shape, timed=_deviation_timed),
    "long_stop": RideCase(shape=_long_stop_shape, timed=_long_stop_timed),
    "crash_suspected": RideCase(shape=_crash_shape, timed=_crash_timed),
    "signal_lost": RideCase(timed=_signal_timed, after=_signal_after),
    "early_end": RideCase(shape=_early_end_shape, timed=_early_end_timed),
    "sos": RideCase(timed=_sos_timed),
    "trip_delay": RideCase(timed=_trip_delay_timed),
    "traffic_jam": RideCase(shape=_jam_shape, timed=_jam_timed),
    "stop_checkin": RideCase(shape=stops.route_stop_shape, timed=stops.route_stop_timed),
    "jam_standstill": RideCase(shape=stops.jam_standstill_shape, timed=stops.jam_standstill_timed),
    "red_light": RideCase(shape=_red_light_shape),
    "reroute": RideCase(shape=_reroute_shape, timed=_reroute_timed),
    "gps_jitter": RideCase(shape=_jitter_shape),
    "tunnel": RideCase(timed=_tunnel_timed),
}


# --- payment ------------------------------------------------------------------------------


def _payment_failure(trip: Trip, completed_t: float, fare: int) -> None:
    rng, log, m = trip.rng, trip.log, trip.magnitudes
    first = completed_t + rng.uniform(1, 3)
    code = rng.choice(FAILURE_CODES)
    log.payment("payment.failed", first, trip.passenger_id, trip.payment_id(1), fare, code=code, attempt=1)
    trip.label("payment_failure", first)
    if rng.random() < 0.5:
        again = first + rng.uniform(25, 50)
        log.payment(
            "payment.failed", again, trip.passenger_id, trip.payment_id(2), fare, code=code, attempt=2
        )
    if rng.random() < 0.5:
        paid = first + m.payment_unresolved_s + rng.uniform(0, 30)
        log.payment("payment.captured", paid, trip.passenger_id, trip.payment_id(3), fare)


def _payment_retry_ok(trip: Trip, completed_t: float, fare: int) -> None:
    rng, log = trip.rng, trip.log
    first = completed_t + rng.uniform(1, 3)
    code = "processing_error"
    log.payment("payment.failed", first, trip.passenger_id, trip.payment_id(1), fare, code=code, attempt=1)
    paid = first + rng.uniform(*trip.magnitudes.retry_after_s)
    log.payment("payment.captured", paid, trip.passenger_id, trip.payment_id(2), fare)


def _double_charge(trip: Trip, completed_t: float, fare: int) -> None:
    rng, log = trip.rng, trip.log
    first = completed_t + rng.uniform(1, 3)
    log.payment("payment.captured", first, trip.passenger_id, trip.payment_id(1), fare)
    second = first + rng.uniform(*trip.magnitudes.double_charge_gap_s)
    log.payment("payment.captured", second, trip.passenger_id, trip.payment_id(2), fare)
    trip.label("double_charge", second)
    if rng.random() < 0.5:  # support notices and refunds the second capture
        refund = second + rng.uniform(60, 120)
        log.payment("payment.refunded", refund, trip.passenger_id, trip.payment_id(2), fare)


PAYMENT_CASES: dict[str, Callable[[Trip, float, int], None]] = {
    "payment_failure": _payment_failure,
    "payment_retry_ok": _payment_retry_ok,
    "double_charge": _double_charge,
}
