"""Plane geometry of the synthetic city, in metres, and its mapping to WGS84 degrees.

The simulator works on a flat plane (x east, y north, metres from the city centre) and
converts to `(lat, lon)` only when it writes an event; at city scale the equirectangular
projection is exact to well under a metre.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

M_PER_DEG_LAT = 111_195.0

Point = tuple[float, float]


@dataclass(frozen=True)
class Projection:
    """Plane metres around `(lat0, lon0)` <-> degrees."""

    lat0: float
    lon0: float

    def to_latlon(self, point: Point) -> tuple[float, float]:
        x, y = point
        lat = self.lat0 + y / M_PER_DEG_LAT
        lon = self.lon0 + x / (M_PER_DEG_LAT * math.cos(math.radians(self.lat0)))
        return (round(lat, 6), round(lon, 6))


def distance(a: Point, b: Point) -> float:
    return math.hypot(b[0] - a[0], b[1] - a[1])


def point_segment_distance(p: Point, a: Point, b: Point) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    if length2 == 0:
        return distance(p, a)
    t = max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2))
    return distance(p, (a[0] + t * dx, a[1] + t * dy))


def distance_to_polyline(p: Point, points: Sequence[Point]) -> float:
    if len(points) == 1:
        return distance(p, points[0])
    return min(point_segment_distance(p, a, b) for a, b in zip(points, points[1:], strict=False))


def simplify(points: Sequence[Point]) -> list[Point]:
    """Drop repeated and collinear interior vertices (the grid's straight runs)."""
    kept: list[Point] = []
    for point in points:
        if kept and distance(kept[-1], point) < 1e-6:
            continue
        if len(kept) >= 2 and _collinear(kept[-2], kept[-1], point):
            kept[-1] = point
        else:
            kept.append(point)
    return kept


def _collinear(a: Point, b: Point, c: Point) -> bool:
    """b lies on the way from a to c (a U-turn at b is kept)."""
    cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])
    dot = (b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1])
    return abs(cross) < 1e-6 and dot > 0


@dataclass
class Polyline:
    """A path with arc-length lookup: where the car is after `s` metres."""

    points: list[Point]
    cumulative: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.points = simplify(self.points)
        self.cumulative = [0.0]
        for a, b in zip(self.points, self.points[1:], strict=False):
            self.cumulative.append(self.cumulative[-1] + distance(a, b))

    @property
    def length(self) -> float:
        return self.cumulative[-1]

    def at(self, s: float) -> Point:
        i, t = self._locate(s)
        if i >= len(self.points) - 1:
            return self.points[-1]
        (ax, ay), (bx, by) = self.points[i], self.points[i + 1]
        return (ax + t * (bx - ax), ay + t * (by - ay))

    def heading_deg(self, s: float) -> float:
        """Compass heading (0 = north, 90 = east) of travel at `s`."""
        i, _ = self._locate(s)
        i = min(i, len(self.points) - 2)
        (ax, ay), (bx, by) = self.points[i], self.points[i + 1]
        return round(math.degrees(math.atan2(bx - ax, by - ay)) % 360, 1)

    def _locate(self, s: float) -> tuple[int, float]:
        s = max(0.0, min(s, self.length))
        i = max(0, bisect.bisect_right(self.cumulative, s) - 1)
        if i >= len(self.points) - 1:
            return len(self.points) - 1, 0.0
        span = self.cumulative[i + 1] - self.cumulative[i]
        return i, (s - self.cumulative[i]) / span if span else 0.0
