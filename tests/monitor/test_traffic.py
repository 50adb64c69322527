"""The traffic grid: neighbours by cell, the window, the bounds."""

from __future__ import annotations

from monitor import traffic
from monitor.geo import M_PER_DEG
from monitor.traffic import TrafficGrid

HERE = (52.52, 13.40)


def east(metres: float) -> tuple[float, float]:
    return (HERE[0], HERE[1] + metres / (M_PER_DEG * 0.6088))  # cos(52.52°)


def test_nearby_counts_other_cars_within_the_radius_and_the_slow_ones():
    grid = TrafficGrid()
    grid.record("a", 1_000, east(100), 0.0)
    grid.record("b", 1_000, east(-250), 5.0)
    grid.record("c", 1_000, east(200), 50.0)
    grid.record("far", 1_000, east(900), 0.0)
    grid.record("me", 1_000, HERE, 0.0)
    assert grid.nearby("me", 1_000, HERE, 300) == traffic.Nearby(cars=3, slow=2)


def test_a_car_counts_by_its_latest_ping_only_and_only_within_the_window():
    grid = TrafficGrid(window_ms=60_000)
    grid.record("a", 1_000, east(50), 0.0)
    grid.record("a", 5_000, east(60), 40.0)
    grid.record("a", 3_000, east(55), 0.0)  # late: the newer ping stands
    assert grid.nearby("me", 5_000, HERE, 300) == traffic.Nearby(cars=1, slow=0)
    assert grid.nearby("me", 70_000, HERE, 300) == traffic.Nearby()


def test_a_car_moving_to_another_cell_is_counted_once():
    grid = TrafficGrid()
    grid.record("a", 1_000, east(-100), 10.0)
    grid.record("a", 2_000, east(200), 10.0)
    assert grid.nearby("me", 2_000, HERE, 300) == traffic.Nearby(cars=1, slow=1)


def test_the_grid_stays_bounded_by_the_window_and_the_cell_cap():
    grid = TrafficGrid(window_ms=10_000)
    for n in range(500):
        grid.record(f"car-{n}", 1_000 + n, HERE, 0.0)
    assert grid.size() <= traffic.MAX_PER_CELL
    grid.sweep(1_000_000)
    assert grid.size() == 0 and not grid.cells
