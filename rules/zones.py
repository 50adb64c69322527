"""Named zones (airports, stations): polygons of `[lat, lon]` points in a rule file's `zones:`.

A trip's pickup and drop-off are placed in zones once per judgment (`trip.pickup_zones`,
`trip.dropoff_zones`); `in_zone("airport")` in a condition is true when either lies in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Point = tuple[float, float]  # lat, lon
Polygon = Sequence[Sequence[float]]


def contains(polygon: Polygon, point: Point) -> bool:
    """Ray casting over (lat, lon) as a plane: right for zones of a few kilometres."""
    lat, lon = point
    inside = False
    previous = polygon[-1]
    for current in polygon:
        (lat_a, lon_a), (lat_b, lon_b) = previous, current
        if (lon_a > lon) != (lon_b > lon):
            crossing = lat_a + (lon - lon_a) * (lat_b - lat_a) / (lon_b - lon_a)
            if lat < crossing:
                inside = not inside
        previous = current
    return inside


def zones_of(point: Point | Sequence[float] | None, zones: Mapping[str, Polygon]) -> list[str]:
    if not point:
        return []
    where = (float(point[0]), float(point[1]))
    return sorted(name for name, polygon in zones.items() if contains(polygon, where))
