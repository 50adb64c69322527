"""The trip's map layers: the planned route, the actual track, where it left the route, and the
points that matter (pickup, drop-off, SOS, crash, stop). Drawn by Leaflet in the browser."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

LatLon = tuple[float, float]
DEVIATION_M = 150.0  # a track point farther than this from the planned route is drawn as off-route


@dataclass
class TripMap:
    routes: list[list[LatLon]] = field(default_factory=list)  # earlier plans
    route: list[LatLon] = field(default_factory=list)  # the plan in force
    track: list[LatLon] = field(default_factory=list)
    off_route: list[list[LatLon]] = field(default_factory=list)  # stretches of track points off the route
    points: list[tuple[str, str, LatLon]] = field(default_factory=list)  # what, label, where
    max_deviation_m: int = 0

    @property
    def empty(self) -> bool:
        return not (self.route or self.track or self.points)

    def as_json(self) -> dict[str, Any]:
        return {
            "routes": self.routes, "route": self.route, "track": self.track, "off_route": self.off_route,
            "points": [{"what": w, "label": label, "at": at} for w, label, at in self.points],
            "max_deviation_m": self.max_deviation_m,
        }  # fmt: skip


def _metres(origin: LatLon, point: LatLon) -> tuple[float, float]:
    """Flat-earth metres east and north of `origin` (within metres at city scale)."""
    east = (point[1] - origin[1]) * 111_320.0 * math.cos(math.radians(origin[0]))
    north = (point[0] - origin[0]) * 110_540.0
    return east, north


def distance_to_route_m(point: LatLon, route: list[LatLon]) -> float:
    if not route:
        return 0.0
    px, py = _metres(route[0], point)
    segments = [(_metres(route[0], a), _metres(route[0], b)) for a, b in zip(route, route[1:], strict=False)]
    if not segments:
        return math.hypot(px, py)
    return min(_segment_distance(px, py, a, b) for a, b in segments)


def _segment_distance(px: float, py: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - a[0]) * dx + (py - a[1]) * dy) / length2))
    return math.hypot(px - a[0] - t * dx, py - a[1] - t * dy)


def draw(routes: list[list[LatLon]], track: list[LatLon], points: list[tuple[str, str, LatLon]]) -> TripMap:
    """The map's layers in degrees (Leaflet draws them); the last of `routes` is the plan in force.

    `points` are (what, label, where): the pickup, the drop-off, an SOS, a crash, a stop.
    """
    plan = routes[-1] if routes else []
    trip_map = TripMap(routes=routes[:-1], route=plan, track=track, points=points)
    stretch: list[LatLon] = []
    for point in track:
        distance = distance_to_route_m(point, plan) if plan else 0.0
        if distance > DEVIATION_M:
            stretch.append(point)
            trip_map.max_deviation_m = max(trip_map.max_deviation_m, int(distance))
        elif stretch:
            trip_map.off_route.append(stretch)
            stretch = []
    if stretch:
        trip_map.off_route.append(stretch)
    return trip_map
