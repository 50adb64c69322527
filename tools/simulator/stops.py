"""Stops on the planned route: one the passenger should be asked about, and a jam that must stay silent.

- `stop_checkin` (labelled): the car pulls up on its planned route, on a road that moves,
  and stands for `route_stop_s` (5 min: past the check-in's 3, short of long_stop's 10).
- `jam_standstill` (hard negative): stop-and-go into a jam that stands still for
  `jam_stand_s`, with `jam_cars` other cars (telemetry of other orders, as other live trips
  send it) held up around the same point, and the platform's drop-off ETA slipping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tools.simulator.emit import TripLog
from tools.simulator.geometry import distance
from tools.simulator.motion import Motion
from tools.simulator.ride import RidePlan, Station, ping_times

if TYPE_CHECKING:
    from tools.simulator.trip_model import Trip

CREEP_M = 1.5  # a jam car edges forward this much now and then, standing otherwise


def _clear(plan: RidePlan, low: float, high: float) -> None:
    plan.stations = [st for st in plan.stations if not low <= st.s <= high]


def _stop_point(trip: Trip, plan: RidePlan) -> float:
    """Somewhere in the middle of the ride, well away from the drop-off."""
    planned, dropoff = plan.driven, plan.driven.points[-1]
    s = planned.length * 0.4
    for fraction in (0.35, 0.4, 0.45, 0.5):
        s = planned.length * trip.rng.uniform(fraction - 0.05, fraction)
        if distance(planned.at(s), dropoff) > 500:
            break
    return s


def route_stop_shape(trip: Trip, plan: RidePlan) -> None:
    s = _stop_point(trip, plan)
    _clear(plan, s - 60, s + 60)
    plan.stations.append(Station(s, "stop", trip.magnitudes.route_stop_s))
    trip.marks["stop_s"] = s


def route_stop_timed(trip: Trip, plan: RidePlan, motion: Motion, eta_t: float) -> None:
    trip.label("stop_checkin", plan.standstills[trip.marks["stop_s"]])


def jam_standstill_shape(trip: Trip, plan: RidePlan) -> None:
    m = trip.magnitudes
    s = _stop_point(trip, plan)
    kmh = trip.rng.uniform(*m.jam_kmh)
    _clear(plan, s - 200, s + 160)
    plan.stations.append(Station(s - 150, "jam", until_s=s - 15, kmh=kmh))
    plan.stations.append(Station(s, "stop", trip.uniform(m.jam_stand_s)))
    plan.stations.append(Station(s + 5, "jam", until_s=s + 120, kmh=kmh))
    trip.marks["jam_stop_s"] = s


def jam_standstill_timed(trip: Trip, plan: RidePlan, motion: Motion, eta_t: float) -> None:
    s = trip.marks["jam_stop_s"]
    stood_t = plan.standstills[s]
    trip.event(
        "trip.eta_updated", stood_t + 20, eta_dropoff_ts=round(eta_t + trip.magnitudes.jam_eta_slip_s, 3)
    )
    leaves_t = motion.time_at(s + 5)
    count = trip.rng.randint(*trip.magnitudes.jam_cars)
    for n in range(count):
        _jam_car(trip, plan, n, s + trip.rng.uniform(-150, 100), stood_t - 60, leaves_t + 30)


def _jam_car(trip: Trip, plan: RidePlan, n: int, s: float, start_t: float, end_t: float) -> None:
    """Another car in the same jam: its own order, standing near `s` with short creeps forward."""
    log = TripLog(f"{trip.log.order_id}-car{n + 1}", trip.log.projection)
    rng = trip.rng
    for t in ping_times(start_t, end_t, trip.timing.ping_interval_s, rng):
        moving = rng.random() < 0.25
        s += CREEP_M if moving else 0.0
        x, y = plan.driven.at(s)
        where = (x + rng.gauss(0, trip.timing.gps_sigma_m), y + rng.gauss(0, trip.timing.gps_sigma_m))
        speed = rng.uniform(2.0, 8.0) if moving else 0.0
        log.ping(t, f"d-{trip.index:05d}-jam{n + 1}", where, speed, plan.driven.heading_deg(s), 6.0)
    trip.log.deliveries.extend(log.deliveries)
