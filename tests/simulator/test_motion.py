"""A car braking for a light never looks like a crash, whenever the pings fall."""

from __future__ import annotations

import random

from tests.simulator.timeline import params
from tools.simulator.motion import KMH, Motion
from tools.simulator.ride import _measured_kmh


class _Fixed(random.Random):
    """A generator whose gauss() is always `value` standard deviations off."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float:
        return mu + self.value * sigma


def test_braking_from_cruise_shows_no_violent_drop_at_any_ping_phase() -> None:
    """Even with GPS speed noise three sigma in the worst direction on both pings."""
    p = params("crash_suspected")
    high, low = _Fixed(3.0), _Fixed(-3.0)
    for cruise in (45.0, 50.0, 55.0):
        motion = Motion(0.0)
        motion.stop_at(300.0, 30.0, cruise)
        motion.drive(motion.s + 200, cruise)
        for phase in range(300):
            t = phase / 10
            for interval in (1.0, 2.0, 3.0, 4.0, 5.0):
                fast = _measured_kmh(motion.at(t)[1], high)
                slow = max(0.0, _measured_kmh(motion.at(t + interval)[1], low))
                violent = (fast - slow) / interval >= p.min_decel_kmh_per_s
                crash_like = fast >= p.from_speed_kmh and slow <= p.to_speed_kmh and violent
                assert not crash_like, (cruise, t, interval, fast, slow)


def test_stop_at_stands_still_for_the_time_asked() -> None:
    motion = Motion(10.0)
    standstill = motion.stop_at(200.0, 30.0, 36.0)
    s, speed = motion.at(standstill + 15)
    assert s == 200.0 and speed == 0.0
    assert motion.at(standstill + 31)[1] > 0
    assert motion.time_at(100.0) == 10.0 + 100.0 / (36.0 * KMH)
