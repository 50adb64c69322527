"""Flat-earth geometry at city scale: metres between points and from a point to a polyline.

Within a few tens of kilometres an equirectangular projection around the point of
interest is within 0.5 m of the haversine distance, and about three times cheaper
(see ../shared/STACK.md, Geometry). Coordinates are WGS84 degrees, `(lat, lon)`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

EARTH_RADIUS_M = 6_371_008.8
M_PER_DEG = math.pi * EARTH_RADIUS_M / 180.0

LatLon = tuple[float, float]


def distance_m(a: LatLon, b: LatLon) -> float:
    """Metres between two points."""
    kx = M_PER_DEG * math.cos(math.radians((a[0] + b[0]) / 2))
    return math.hypot((b[1] - a[1]) * kx, (b[0] - a[0]) * M_PER_DEG)


def distance_to_route_m(point: LatLon, route: Sequence[LatLon]) -> float:
    """Metres from `point` to the nearest segment of `route` (inf for an empty route)."""
    return nearest_segment(point, route)[0]


def nearest_segment(point: LatLon, route: Sequence[LatLon]) -> tuple[float, int]:
    """Metres from `point` to the nearest segment of `route`, and that segment's index (its
    first vertex; 0 for a one-point route); (inf, -1) for an empty route."""
    if not route:
        return math.inf, -1
    kx = M_PER_DEG * math.cos(math.radians(point[0]))
    ky = M_PER_DEG
    # Project every vertex to metres around `point`, which sits at the origin.
    xs = [(lon - point[1]) * kx for _, lon in route]
    ys = [(lat - point[0]) * ky for lat, _ in route]
    best2, best = xs[0] * xs[0] + ys[0] * ys[0], 0
    for i in range(len(xs) - 1):  # squared distance from the origin to each segment, inlined
        ax, ay = xs[i], ys[i]
        dx, dy = xs[i + 1] - ax, ys[i + 1] - ay
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0.0 else -(ax * dx + ay * dy) / length2
        t = 0.0 if t < 0.0 else 1.0 if t > 1.0 else t
        px, py = ax + t * dx, ay + t * dy
        d2 = px * px + py * py
        if d2 < best2:
            best2, best = d2, i
    return math.sqrt(best2), best


def bearing_deg(a: LatLon, b: LatLon) -> float:
    """Compass bearing from `a` to `b`, degrees clockwise from north in [0, 360)."""
    kx = math.cos(math.radians((a[0] + b[0]) / 2))
    return math.degrees(math.atan2((b[1] - a[1]) * kx, b[0] - a[0])) % 360.0


def heading_gap_deg(a: float, b: float) -> float:
    """The smaller angle between two headings, in [0, 180]."""
    gap = abs(a - b) % 360.0
    return 360.0 - gap if gap > 180.0 else gap
