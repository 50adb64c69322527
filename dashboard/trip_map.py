"""The trip drawn as SVG: the planned route, the actual track, and where it left the route."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

LatLon = tuple[float, float]
Projector = Callable[[LatLon], tuple[float, float]]
WIDTH, HEIGHT, MARGIN = 640, 420, 20
DEVIATION_M = 150.0  # a track point farther than this from the planned route is drawn as off-route


@dataclass
class TripMap:
    routes: list[str] = field(default_factory=list)  # SVG points of earlier routes
    route: str = ""  # the route in force
    track: str = ""
    off_route: list[tuple[float, float, int]] = field(default_factory=list)  # x, y, metres
    marks: list[tuple[str, float, float]] = field(default_factory=list)  # label, x, y
    max_deviation_m: int = 0

    @property
    def empty(self) -> bool:
        return not (self.route or self.track or self.marks)


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


def draw(routes: list[list[LatLon]], track: list[LatLon], marks: dict[str, LatLon]) -> TripMap:
    """Fit everything into the drawing; the last of `routes` is the plan in force."""
    everything = [p for r in routes for p in r] + track + list(marks.values())
    trip_map = TripMap()
    if not everything:
        return trip_map
    project = _projector(everything)
    trip_map.routes = [_points(project, r) for r in routes[:-1]]
    trip_map.route = _points(project, routes[-1]) if routes else ""
    trip_map.track = _points(project, track)
    trip_map.marks = [(label, *project(p)) for label, p in marks.items()]
    for point in track:
        distance = distance_to_route_m(point, routes[-1]) if routes else 0.0
        if distance > DEVIATION_M:
            trip_map.off_route.append((*project(point), int(distance)))
            trip_map.max_deviation_m = max(trip_map.max_deviation_m, int(distance))
    return trip_map


def _projector(points: list[LatLon]) -> Projector:
    origin = points[0]
    xy = [_metres(origin, p) for p in points]
    min_x, max_x = min(x for x, _ in xy), max(x for x, _ in xy)
    min_y, max_y = min(y for _, y in xy), max(y for _, y in xy)
    span = max(max_x - min_x, max_y - min_y, 1.0)
    scale = min(WIDTH, HEIGHT) - 2 * MARGIN

    def project(point: LatLon) -> tuple[float, float]:
        x, y = _metres(origin, point)
        return (
            round(MARGIN + (x - min_x) / span * scale, 1),
            round(HEIGHT - MARGIN - (y - min_y) / span * scale, 1),
        )

    return project


def _points(project: Projector, line: list[LatLon]) -> str:
    return " ".join(f"{x},{y}" for x, y in (project(p) for p in line))
