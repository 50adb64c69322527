"""Flat-earth geometry: the nearest segment of a route, bearings, the gap between headings."""

from __future__ import annotations

import math

import pytest

from core import geo

ROUTE = [(52.52, 13.40), (52.52, 13.41), (52.53, 13.41)]  # east, then north


def test_the_nearest_segment_is_found_with_its_distance():
    distance, segment = geo.nearest_segment((52.5201, 13.405), ROUTE)
    assert segment == 0 and distance == pytest.approx(11.1, abs=0.2)
    distance, segment = geo.nearest_segment((52.525, 13.4102), ROUTE)
    assert segment == 1 and distance == pytest.approx(13.6, abs=0.3)
    assert geo.nearest_segment((52.52, 13.40), []) == (math.inf, -1)
    assert geo.distance_to_route_m((52.525, 13.4102), ROUTE) == distance


def test_bearings_run_clockwise_from_north():
    assert geo.bearing_deg(ROUTE[0], ROUTE[1]) == pytest.approx(90.0)
    assert geo.bearing_deg(ROUTE[1], ROUTE[2]) == pytest.approx(0.0)
    assert geo.bearing_deg(ROUTE[1], ROUTE[0]) == pytest.approx(270.0)


def test_the_gap_between_headings_is_the_smaller_angle():
    assert geo.heading_gap_deg(350.0, 10.0) == pytest.approx(20.0)
    assert geo.heading_gap_deg(90.0, 270.0) == pytest.approx(180.0)
    assert geo.heading_gap_deg(-90.0, 270.0) == pytest.approx(0.0)
