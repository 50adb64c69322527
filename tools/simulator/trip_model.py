"""A trip while it is simulated (`Trip`: its draws, its event log, its labels) and a driver's way
to the pickup (`Approach`): what tools/simulator/trip.py and the cases (tools/simulator/cases.py)
both work on."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from tools.simulator.city import City
from tools.simulator.config import SimConfig
from tools.simulator.emit import TripLog
from tools.simulator.geometry import Point, Polyline
from tools.simulator.motion import BRAKE_M, KMH, Motion
from tools.simulator.ride import RidePlan, emit_pings, ping_times

FIRST_NAMES = ("Jonas", "Mehmet", "Anna", "Pavel", "Lukas", "Aylin", "Marek", "Sofia", "Tomasz", "Ines")
LAST_NAMES = ("Weber", "Yilmaz", "Kowalski", "Novak", "Schmidt", "Fischer", "Rossi", "Dubois")
CARS = ("Toyota Prius, white", "Skoda Octavia, black", "VW Passat, grey", "Tesla Model 3, blue")


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
