"""The trip's map layers: the planned route, the actual track, where it left the route, and the
points that matter (pickup, drop-off, SOS, crash, stop). Drawn by Leaflet in the browser.

Distances are detection's own (core/geo.py); the caller passes the off-route distance of the
route-deviation rule in force, so the map marks off-route what the detector would."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core import geo
from core.geo import LatLon


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


def draw(
    routes: list[list[LatLon]],
    track: list[LatLon],
    points: list[tuple[str, str, LatLon]],
    off_route_m: float,
) -> TripMap:
    """The map's layers in degrees (Leaflet draws them); the last of `routes` is the plan in force.

    `points` are (what, label, where): the pickup, the drop-off, an SOS, a crash, a stop. A track
    point farther than `off_route_m` from the plan is drawn as off the route.
    """
    plan = routes[-1] if routes else []
    trip_map = TripMap(routes=routes[:-1], route=plan, track=track, points=points)
    stretch: list[LatLon] = []
    for point in track:
        distance = geo.distance_to_route_m(point, plan) if plan else 0.0
        if distance > off_route_m:
            stretch.append(point)
            trip_map.max_deviation_m = max(trip_map.max_deviation_m, int(distance))
        elif stretch:
            trip_map.off_route.append(stretch)
            stretch = []
    if stretch:
        trip_map.off_route.append(stretch)
    return trip_map
