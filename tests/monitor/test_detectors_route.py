"""Route deviation: sustained, accuracy-aware, reset by reroutes, critical at night or heading away."""

from __future__ import annotations

import math

import pytest

from core import geo
from tests.monitor.trips import MIDNIGHT, ROUTE, Trip, off_route, on_route


def started_trip(t0: int | None = None) -> Trip:
    trip = Trip(t0=t0) if t0 else Trip()
    trip.begin()
    trip.drive(12, 60, x1=0.2)
    return trip


def test_point_to_segment_distance_in_metres():
    route = [(52.52, 13.40), (52.52, 13.46)]
    assert geo.distance_to_route_m(off_route(0.5, 300), route) == pytest.approx(300, abs=0.5)
    # beyond the end of the segment: distance to the end point
    beyond = (52.52, 13.47)
    assert geo.distance_to_route_m(beyond, route) == pytest.approx(geo.distance_m(beyond, (52.52, 13.46)))
    assert geo.distance_m((52.52, 13.40), (52.52, 13.46)) == pytest.approx(4071, rel=0.01)
    assert geo.distance_to_route_m((52.52, 13.4), []) == math.inf


def test_flat_earth_is_within_half_a_metre_of_haversine_at_city_scale():
    a, b = (52.50, 13.35), (52.53, 13.44)
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    haversine = 2 * geo.EARTH_RADIUS_M * math.asin(math.sqrt(h))
    assert abs(geo.distance_m(a, b) - haversine) < 0.5


def deviate(
    trip: Trip, start: float, end: float, metres: float = 400, x: float = 0.3, every: float = 3.0
) -> list:
    out = []
    t = start
    while t <= end:
        out += trip.ping(t, off_route(x, metres))
        t += every
    return out


def test_sustained_deviation_opens_medium_by_day():
    trip = started_trip()
    assert deviate(trip, 63, 105) == []  # 42 s: not yet sustained
    [change] = deviate(trip, 108, 108)
    assert (change.kind, change.severity, change.trigger_ts) == ("route_deviation", "medium", trip.ts(108))
    assert change.details["distance_m"] == 400 and change.details["off_route_since_ts"] == trip.ts(63)


def test_deviation_at_night_in_local_time_is_critical():
    trip = started_trip(MIDNIGHT)
    deviate(trip, 63, 110)
    [change] = trip.opened("route_deviation")
    assert change.severity == "critical" and change.details["night"] is True


def test_moving_away_from_the_destination_raises_to_critical():
    trip = started_trip()
    for i, t in enumerate(range(63, 200, 3)):
        trip.ping(t, off_route(0.3 - i * 0.004, 400))  # westwards, away from the drop-off
    severities = [c.severity for c in trip.opened("route_deviation")]
    assert severities[0] == "medium" and severities[-1] == "critical"
    assert trip.state.open_incidents["route_deviation"].severity == "critical"


def test_back_on_route_resolves():
    trip = started_trip()
    deviate(trip, 63, 120)
    trip.ping(123, on_route(0.3))
    assert trip.resolved("route_deviation")[0].reason == "the car is back on the planned route"


def test_single_noisy_pings_never_open():
    trip = started_trip()
    for i, t in enumerate(range(63, 300, 3)):
        point = off_route(0.3, 400) if i % 3 == 0 else on_route(0.3)
        trip.ping(t, point)
    assert "route_deviation" not in trip.kinds_opened()


def test_gps_jitter_within_accuracy_never_opens():
    trip = started_trip()
    for i, t in enumerate(range(63, 300, 3)):
        trip.ping(t, off_route(0.2 + i * 0.002, 180), accuracy=60)  # 180 m off, accuracy 60 m
    assert "route_deviation" not in trip.kinds_opened()


def test_inaccurate_pings_say_nothing():
    trip = started_trip()
    for t in range(63, 300, 3):
        trip.ping(t, off_route(0.3, 800), accuracy=150)
    assert "route_deviation" not in trip.kinds_opened()


def test_accepted_reroute_replaces_the_plan():
    trip = started_trip()
    detour = [[52.52, 13.40], [52.5236, 13.412], [52.5236, 13.45], [52.52, 13.46]]  # 400 m north
    trip.trip("trip.rerouted", 62, route=detour)
    deviate(trip, 63, 200)  # on the new route all along
    assert "route_deviation" not in trip.kinds_opened()


def test_reroute_after_an_open_deviation_resolves_it():
    trip = started_trip()
    deviate(trip, 63, 120)
    assert trip.is_open("route_deviation")
    detour = [[52.52, 13.40], [52.5236, 13.412], [52.5236, 13.45], [52.52, 13.46]]
    trip.trip("trip.rerouted", 121, route=detour)
    assert trip.resolved("route_deviation")[0].reason == "the plan was replaced by an accepted reroute"
    deviate(trip, 123, 200)
    assert len(trip.opened("route_deviation")) == 1


def test_late_on_route_ping_splits_the_streak():
    trip = started_trip()
    deviate(trip, 63, 99)
    trip.ping(85, on_route(0.3), arrive=100)  # at 85 it was on the route after all
    deviate(trip, 102, 120)
    assert "route_deviation" not in trip.kinds_opened()  # off since 87 only: 33 s
    deviate(trip, 123, 135)
    assert trip.opened("route_deviation")[0].details["off_route_since_ts"] == trip.ts(87)


def test_route_at_start_is_the_plan():
    trip = Trip()
    trip.begin()
    assert trip.state.route == [tuple(p) for p in ROUTE]


def test_pings_read_before_the_trip_started_event_are_judged_against_its_route():
    trip = Trip()
    trip.created()
    for t in range(20, 80, 5):  # the telemetry topic is read first...
        trip.ping(t, off_route(0.3, 400), arrive=81)
    assert "route_deviation" not in trip.kinds_opened()
    trip.started(at=10, eta=900)  # ...then the trip.started of 10 s arrives
    [change] = trip.opened("route_deviation")
    assert change.details["off_route_since_ts"] == trip.ts(20)
