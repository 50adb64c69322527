"""Read a generated scenario back, trip by trip, as a detector would see it (event time).

Independent of the simulator's own geometry: positions are projected here from the
events' lat/lon, and distances measured from scratch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from core.settings import BUILTIN_RULES_DIR
from rules.loader import RuleError, load_rule_dir
from rules.params import DETECTOR_PARAMS

LAT0, LON0 = 52.52, 13.405
KX = 111_195.0 * math.cos(math.radians(LAT0))
KY = 111_195.0


def params(detector: str) -> Any:
    """The built-in pack's parameters for `detector` (the model's defaults if it has no rule yet)."""
    try:
        rules = load_rule_dir(BUILTIN_RULES_DIR).for_detector(detector)
    except RuleError:
        rules = []
    model: type[BaseModel] = DETECTOR_PARAMS[detector]
    return rules[0].params if rules else model()


def xy(lat: float, lon: float) -> tuple[float, float]:
    return ((lon - LON0) * KX, (lat - LAT0) * KY)


def to_route(points: list[list[float]]) -> list[tuple[float, float]]:
    return [xy(lat, lon) for lat, lon in points]


def dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def dist_to_route(p: tuple[float, float], route: list[tuple[float, float]]) -> float:
    best = math.inf
    for a, b in zip(route, route[1:], strict=False):
        dx, dy = b[0] - a[0], b[1] - a[1]
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2))
        best = min(best, dist(p, (a[0] + t * dx, a[1] + t * dy)))
    return best


@dataclass
class Ping:
    ts: float
    at: tuple[float, float]
    speed: float
    accuracy: float


@dataclass
class TripView:
    order_id: str
    events: list[dict[str, Any]] = field(default_factory=list)  # trip-events, by ts, unique ids
    pings: list[Ping] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    safety: list[dict[str, Any]] = field(default_factory=list)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    def first_ts(self, kind: str) -> float | None:
        found = self.of_type(kind)
        return found[0]["ts"] if found else None

    @property
    def started(self) -> float | None:
        return self.first_ts("trip.started")

    @property
    def completed(self) -> float | None:
        return self.first_ts("trip.completed")

    @property
    def dropoff(self) -> tuple[float, float]:
        created = self.of_type("order.created")[0]
        return xy(created["dropoff"]["lat"], created["dropoff"]["lon"])

    def route_at(self, ts: float) -> list[tuple[float, float]]:
        routes = [e for e in self.events if e["type"] in ("trip.started", "trip.rerouted") and e["ts"] <= ts]
        return to_route(routes[-1]["route"])

    def ride_pings(self) -> list[Ping]:
        start, end = self.started, self.completed
        if start is None:
            return []
        return [p for p in self.pings if start <= p.ts <= (end if end is not None else math.inf)]


@dataclass
class Loaded:
    trips: dict[str, TripView]
    labels: dict[tuple[str, str], float]
    negatives: dict[str, str]  # order_id -> case
    lines: int


def load(path: Path) -> Loaded:
    trips: dict[str, TripView] = {}
    labels: dict[tuple[str, str], float] = {}
    negatives: dict[str, str] = {}
    seen: set[str] = set()
    lines = 0
    for raw in path.read_bytes().splitlines():
        lines += 1
        line = orjson.loads(raw)
        if "expect" in line:
            labels[(line["expect"]["kind"], line["expect"]["order_id"])] = line["expect"]["onset"]
        elif "negative" in line:
            negatives[line["negative"]["order_id"]] = line["negative"]["case"]
        elif "event" in line and line["topic"] != "passengers":
            _add(trips, seen, line["topic"], line["event"])
    for trip in trips.values():
        for items in (trip.events, trip.payments, trip.safety):
            items.sort(key=lambda e: e["ts"])
        trip.pings.sort(key=lambda p: p.ts)
    return Loaded(trips, labels, negatives, lines)


def _add(trips: dict[str, TripView], seen: set[str], topic: str, event: dict[str, Any]) -> None:
    if event["event_id"] in seen:
        return  # a duplicate delivery: the same event again
    seen.add(event["event_id"])
    trip = trips.setdefault(event["order_id"], TripView(event["order_id"]))
    if topic == "telemetry":
        ping = Ping(event["ts"], xy(event["lat"], event["lon"]), event["speed_kmh"], event["accuracy_m"])
        trip.pings.append(ping)
    elif topic == "payments":
        trip.payments.append(event)
    elif topic == "safety-signals":
        trip.safety.append(event)
    else:
        trip.events.append(event)


# --- what the catalogue's conditions look like in the telemetry ---------------------------------


def off_route_runs(
    trip: TripView, off_route_m: float, max_accuracy_m: float
) -> list[tuple[float, float, int]]:
    """Runs of consecutive ride pings off the current route: (first ts, last ts, pings)."""
    runs: list[tuple[float, float, int]] = []
    current: list[Ping] = []
    for ping in trip.ride_pings():
        if ping.accuracy > max_accuracy_m:
            continue
        if dist_to_route(ping.at, trip.route_at(ping.ts)) > off_route_m + ping.accuracy:
            current.append(ping)
            continue
        if current:
            runs.append((current[0].ts, current[-1].ts, len(current)))
        current = []
    if current:
        runs.append((current[0].ts, current[-1].ts, len(current)))
    return runs


def stationary_runs(trip: TripView, max_speed: float, radius: float) -> list[tuple[Ping, float]]:
    """Runs of ride pings standing still within `radius` of where they began: (first, duration)."""
    runs: list[tuple[Ping, float]] = []
    first: Ping | None = None
    last: Ping | None = None
    for ping in trip.ride_pings():
        still = ping.speed <= max_speed
        if still and first is not None and dist(ping.at, first.at) <= radius:
            last = ping
            continue
        if first is not None and last is not None:
            runs.append((first, last.ts - first.ts))
        first = last = ping if still else None
    if first is not None and last is not None:
        runs.append((first, last.ts - first.ts))
    return runs


def silences(trip: TripView) -> list[tuple[float, float]]:
    """Gaps between consecutive ride pings: (last ping before, seconds)."""
    pings = trip.ride_pings()
    return [(a.ts, b.ts - a.ts) for a, b in zip(pings, pings[1:], strict=False)]


def violent_drops(trip: TripView, p: Any) -> list[float]:
    """Times of pings that end a crash-like drop in speed."""
    found = []
    for a, b in zip(trip.pings, trip.pings[1:], strict=False):
        gap = b.ts - a.ts
        if 0 < gap <= p.max_gap_s and a.speed >= p.from_speed_kmh and b.speed <= p.to_speed_kmh:
            if (a.speed - b.speed) / gap >= p.min_decel_kmh_per_s:
                found.append(b.ts)
    return found
