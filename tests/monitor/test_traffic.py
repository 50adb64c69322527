"""The traffic grid: neighbours by cell, held up or not, the window, the bounds."""

from __future__ import annotations

from core.geo import M_PER_DEG
from monitor import traffic
from monitor.traffic import TrafficGrid

HERE = (52.52, 13.40)


def east(metres: float) -> tuple[float, float]:
    return (HERE[0], HERE[1] + metres / (M_PER_DEG * 0.6088))  # cos(52.52°)


def slow_for(grid: TrafficGrid, car: str, seconds: float, where, speed: float = 0.0, t0: int = 0) -> int:
    """Pings every 5 s at `speed` for `seconds`; returns the last ping's time."""
    ts = t0
    while ts <= t0 + seconds * 1000:
        grid.record(car, ts, where, speed)
        ts += 5_000
    return ts - 5_000


def test_nearby_counts_other_cars_within_the_radius_and_those_held_up():
    grid = TrafficGrid()
    now = slow_for(grid, "a", 40, east(100))
    slow_for(grid, "b", 40, east(-250), speed=12.0)
    slow_for(grid, "c", 40, east(200), speed=50.0)
    slow_for(grid, "far", 40, east(900))
    slow_for(grid, "me", 40, HERE)
    assert grid.nearby("me", now, HERE, 300) == traffic.Nearby(cars=3, slow=2)


def test_a_red_light_is_not_held_up_but_a_longer_stand_is():
    grid = TrafficGrid()
    now = slow_for(grid, "light", 20, east(50))
    assert grid.nearby("me", now, HERE, 300) == traffic.Nearby(cars=1, slow=0)
    now = slow_for(grid, "light", 15, east(50), t0=now + 5_000)
    assert grid.nearby("me", now, HERE, 300) == traffic.Nearby(cars=1, slow=1)
    grid.record("light", now + 5_000, east(60), 40.0)  # green: it drives off
    assert grid.nearby("me", now + 5_000, HERE, 300) == traffic.Nearby(cars=1, slow=0)


def test_a_car_counts_by_its_latest_ping_only_and_only_within_the_window():
    grid = TrafficGrid(window_ms=60_000)
    grid.record("a", 1_000, east(50), 0.0)
    grid.record("a", 5_000, east(60), 40.0)
    grid.record("a", 3_000, east(55), 0.0)  # late: the newer ping stands
    assert grid.nearby("me", 5_000, HERE, 300) == traffic.Nearby(cars=1, slow=0)
    assert grid.nearby("me", 70_000, HERE, 300) == traffic.Nearby()


def test_a_car_moving_to_another_cell_is_counted_once():
    grid = TrafficGrid()
    slow_for(grid, "a", 30, east(-100), speed=10.0)
    grid.record("a", 35_000, east(200), 10.0)
    assert grid.nearby("me", 35_000, HERE, 300) == traffic.Nearby(cars=1, slow=1)


def test_the_grid_stays_bounded_by_the_window_and_the_cell_cap():
    grid = TrafficGrid(window_ms=10_000)
    for n in range(500):
        grid.record(f"car-{n}", 1_000 + n, HERE, 0.0)
    assert grid.size() <= traffic.MAX_PER_CELL
    grid.sweep(1_000_000)
    assert grid.size() == 0 and not grid.cells and not grid.slow_since


ROAD_EAST = [HERE, east(600)]  # a road running east from HERE


def test_only_cars_on_the_road_going_its_way_count_and_a_car_with_no_heading_does():
    grid = TrafficGrid()
    for car, heading in (("along", 92.0), ("oncoming", 270.0), ("crossing", 0.0), ("no-heading", None)):
        for ts in range(0, 45_000, 5_000):
            grid.record(car, ts, east(100), 0.0, heading)
    assert grid.nearby("me", 40_000, HERE, 300, ROAD_EAST) == traffic.Nearby(cars=2, slow=2)


def test_a_held_up_car_gone_quiet_is_no_longer_held_up():
    grid = TrafficGrid()
    last = slow_for(grid, "quiet", 40, east(100))
    assert grid.nearby("me", last + traffic.FRESH_MS, HERE, 300) == traffic.Nearby(cars=1, slow=1)
    assert grid.nearby("me", last + traffic.FRESH_MS + 1, HERE, 300) == traffic.Nearby(cars=1, slow=0)


def test_a_car_that_slowed_after_the_asking_car_joined_is_not_what_stopped_it():
    grid = TrafficGrid()
    slow_for(grid, "before", 100, east(100))
    last = slow_for(grid, "after", 40, east(-100), t0=60_000)  # slowed 60 s later: queued behind
    assert grid.nearby("me", last, HERE, 300, joined_by=59_999) == traffic.Nearby(cars=2, slow=1)
    assert grid.nearby("me", last, HERE, 300, joined_by=60_000) == traffic.Nearby(cars=2, slow=2)
