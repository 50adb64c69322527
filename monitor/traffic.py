"""Recent speeds of the other cars near a point: the baseline that tells a jam from a stop.

A grid of cells `CELL_M` on a side (by latitude and longitude, so cells are rectangles
of about that size); each cell keeps, per car (order id), the event time, place, heading
and slow streak of its latest ping. Recording a ping is one dict write; asking "who else
is near, and how fast" reads the 3 x 3 cells around a point, never the live trips.

A car counts as a witness of a jam only when it is the jam that holds the asking car: on
its road and going its way (cross traffic queued at a junction and oncoming cars share
the road's metres, not its jam), held up now (its latest ping fresh), and held up since
before the asking car slowed down, or within JOINED_MS of it (cars that stop behind a car
that already stood are queued behind it, not what stopped it). Entries older than
`WINDOW_MS` are dropped when their cell is next written and by a sweep every
`SWEEP_EVERY` records, and a cell holds at most `MAX_PER_CELL` cars (the oldest go
first), so the grid is bounded by the cars seen in the last window, whatever the
number of live trips: at 20,000 live trips it is about 20,000 small entries.

The grid is per worker and in memory only: it is a recent, soft signal that refills
within one window after a restart (docs/detection.md, "Jam or stop").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from core import models
from core.geo import M_PER_DEG, LatLon, bearing_deg, distance_m, heading_gap_deg, nearest_segment
from monitor.trip_state import TrafficSample, TripState

CELL_M = 250.0
WINDOW_MS = 120_000  # a car's latest ping counts for this long
MAX_PER_CELL = 64
SWEEP_EVERY = 50_000
SLOW_KMH = 20.0  # a car at or below this ...
HELD_UP_MS = 30_000  # ... for this long is held up (a red light mostly is not; a jam is)
FRESH_MS = 30_000  # ... while its latest ping is this recent (a car gone quiet says nothing of now)
JOINED_MS = 60_000  # ... since at most this long after the asking car slowed: the queue it drove into
NEARBY_M = 300.0  # what the trip keeps: the cars this near ...
ON_ROAD_M = 30.0  # ... and this near its planned route: its own road, not a cross street
SAME_WAY_DEG = 45.0  # ... and heading along it (a car with no heading: counted): not oncoming or crossing
STOPPED_KMH = 5.0  # the trip's own ping: only a car this slow asks who is around it ...
SAMPLE_EVERY_MS = 15_000  # ... and at most this often (a stop is judged over minutes)

Cell = int  # row and column in one int (`_key`): a tuple of two ints costs 120 B a cell, this 32
_COLUMNS = 1 << 32  # columns of one row in the key: any longitude at any cell size fits


@dataclass(frozen=True)
class Nearby:
    """The other cars seen near a point within the window: how many, and how many of them slow."""

    cars: int = 0
    slow: int = 0


@dataclass(slots=True)  # one per car seen lately: ~20,000 at a city's rush hour
class _Seen:
    ts: int
    lat: float
    lon: float
    slow_since: int | None  # start of its slow streak, if slow at this ping
    heading: float | None = None

    @property
    def held_up(self) -> bool:
        return self.slow_since is not None and self.ts - self.slow_since >= HELD_UP_MS


@dataclass
class TrafficGrid:
    cell_m: float = CELL_M
    window_ms: int = WINDOW_MS
    cells: dict[Cell, dict[str, _Seen]] = field(default_factory=dict)
    slow_since: dict[str, int] = field(default_factory=dict)  # car -> start of its slow streak
    _records: int = 0
    _lon_steps: dict[int, float] = field(default_factory=dict)
    _latest_ts: int = 0

    def record(
        self, order_id: str, ts: int, point: LatLon, speed_kmh: float, heading_deg: float | None = None
    ) -> None:
        """The car of `order_id` was at `point` at `ts` (event time), heading `heading_deg`."""
        cell = self._cell(point)
        cars = self.cells.setdefault(cell, {})
        seen = cars.get(order_id)
        if seen is not None and seen.ts > ts:
            return  # a late ping: the car's newer position stands
        cars.pop(order_id, None)  # re-inserted last: dict order is age order
        slow_since = self._slow_since(order_id, ts, speed_kmh)
        cars[order_id] = _Seen(ts, point[0], point[1], slow_since, heading_deg)
        self._latest_ts = max(self._latest_ts, ts)
        self._trim(cars, ts)
        self._records += 1
        if self._records % SWEEP_EVERY == 0:
            self.sweep(self._latest_ts)

    def nearby(
        self,
        order_id: str,
        ts: int,
        point: LatLon,
        radius_m: float,
        road: Sequence[LatLon] = (),
        joined_by: int | None = None,
    ) -> Nearby:
        """The other cars within `radius_m` of `point` whose latest ping is at most a window old
        (a car that crossed into another cell counts once, by its latest ping); with `road`, only
        those within ON_ROAD_M of it and heading its way (`on_the_road`). Held up are those
        `holds_up` at `ts`, slow since `joined_by` at the latest when given."""
        row, col = self._row_col(point)
        reach = max(1, math.ceil(radius_m / self.cell_m))
        reach_lat = radius_m / M_PER_DEG
        reach_lon = reach_lat * self._step_lon(point[0]) * M_PER_DEG / self.cell_m
        latest: dict[str, _Seen] = {}
        for r in range(row - reach, row + reach + 1):
            for c in range(col - reach, col + reach + 1):
                for other, seen in self.cells.get(r * _COLUMNS + c, {}).items():
                    if other == order_id or abs(ts - seen.ts) > self.window_ms:
                        continue
                    if abs(seen.lat - point[0]) > reach_lat or abs(seen.lon - point[1]) > reach_lon:
                        continue  # outside the box around the circle: no distance to compute
                    if other not in latest or latest[other].ts < seen.ts:
                        latest[other] = seen
        near = [s for s in latest.values() if distance_m(point, (s.lat, s.lon)) <= radius_m]
        if road:
            near = [s for s in near if on_the_road(s, road)]
        return Nearby(len(near), sum(1 for s in near if holds_up(s, ts, joined_by)))

    def forget(self, order_id: str, point: LatLon) -> None:
        """The car is not in the traffic (waiting at the pickup, trip over): it no longer counts here."""
        cars = self.cells.get(self._cell(point))
        if cars is not None:
            cars.pop(order_id, None)
        self.slow_since.pop(order_id, None)

    def sweep(self, now_ts: int) -> None:
        """Drop what is older than the window, and empty cells."""
        for cell in list(self.cells):
            cars = self.cells[cell]
            self._trim(cars, now_ts)
            if not cars:
                del self.cells[cell]
        present = {car for cars in self.cells.values() for car in cars}
        self.slow_since = {car: ts for car, ts in self.slow_since.items() if car in present}

    def _slow_since(self, order_id: str, ts: int, speed_kmh: float) -> int | None:
        if speed_kmh > SLOW_KMH:
            self.slow_since.pop(order_id, None)
            return None
        return self.slow_since.setdefault(order_id, ts)

    def size(self) -> int:
        return sum(len(cars) for cars in self.cells.values())

    def _trim(self, cars: dict[str, _Seen], now_ts: int) -> None:
        while cars:
            oldest = next(iter(cars))
            if len(cars) <= MAX_PER_CELL and now_ts - cars[oldest].ts <= self.window_ms:
                break
            del cars[oldest]

    def _cell(self, point: LatLon) -> Cell:
        row, col = self._row_col(point)
        return row * _COLUMNS + col

    def _row_col(self, point: LatLon) -> tuple[int, int]:
        step_lat = self.cell_m / M_PER_DEG
        return math.floor(point[0] / step_lat), math.floor(point[1] / self._step_lon(point[0]))

    def _step_lon(self, lat: float) -> float:
        """One column width per whole degree of latitude, so that a city's cells line up."""
        band = round(lat)
        step = self._lon_steps.get(band)
        if step is None:
            step = self.cell_m / M_PER_DEG / max(0.01, math.cos(math.radians(band)))
            self._lon_steps[band] = step
        return step


def holds_up(seen: _Seen, ts: int, joined_by: int | None = None) -> bool:
    """The car is held up now: slow for HELD_UP_MS at a ping at most FRESH_MS old, and, with
    `joined_by`, slow since then at the latest: a car that slowed only after the asking car had
    stood a while is queued behind it, or in a jam that came later, not what stopped it."""
    if not seen.held_up or ts - seen.ts > FRESH_MS:
        return False
    return joined_by is None or (seen.slow_since is not None and seen.slow_since <= joined_by)


def on_the_road(seen: _Seen, road: Sequence[LatLon]) -> bool:
    """The car is on this road and going its way: within ON_ROAD_M of it and, when its ping has a
    heading, within SAME_WAY_DEG of the road's direction there. Oncoming cars and cross traffic
    at a junction (a red light's queue) share the road's metres, not its jam."""
    distance, segment = nearest_segment((seen.lat, seen.lon), road)
    if distance > ON_ROAD_M:
        return False
    if seen.heading is None or len(road) < 2:
        return True
    segment = min(segment, len(road) - 2)
    return heading_gap_deg(seen.heading, bearing_deg(road[segment], road[segment + 1])) <= SAME_WAY_DEG


def on_road(state: TripState) -> bool:
    """A car that is part of the traffic: assigned and driving, not waiting at the pickup or done."""
    if state.ended:
        return False
    return state.arrived_ts is None or state.started_ts is not None


def observe(grid: TrafficGrid, state: TripState, ping: models.TelemetryPing) -> None:
    """Record the car in the grid, and, for a slow car, keep on the trip what its neighbours do."""
    point = (ping.lat, ping.lon)
    if not on_road(state):
        grid.forget(state.order_id, point)
        return
    grid.record(state.order_id, ping.ts, point, ping.speed_kmh, ping.heading_deg)
    if ping.speed_kmh > STOPPED_KMH or ping.ts < (state.last_ping_ts or 0) or not state.route:
        return
    if state.traffic is not None and 0 <= ping.ts - state.traffic.ts < SAMPLE_EVERY_MS:
        return
    road = road_near(state.route, point, NEARBY_M + CELL_M)
    joined_by = grid.slow_since.get(state.order_id, ping.ts) + JOINED_MS  # its own slow streak
    near = grid.nearby(state.order_id, ping.ts, point, NEARBY_M, road, joined_by)
    state.traffic = TrafficSample(ping.ts, near.cars, near.slow)


def road_near(route: Sequence[LatLon], point: LatLon, metres: float) -> Sequence[LatLon]:
    """The stretch of the planned route around `point` (a vertex before and after those in reach)."""
    close = [i for i, vertex in enumerate(route) if distance_m(point, vertex) <= metres]
    if not close:
        return route  # long segments: the whole route (few points anyway)
    return route[max(0, close[0] - 1) : close[-1] + 2]
