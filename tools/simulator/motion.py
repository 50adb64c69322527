"""How a car moves along a path over time: legs of constant speed, stops included.

Braking and starting are a few legs of falling or rising speed, so that consecutive GPS
pings a few seconds apart never show a drop a crash detector would take for a crash.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

KMH = 1 / 3.6  # m/s per km/h
BRAKE_STEPS = (0.8, 0.55, 0.3, 0.12)  # fractions of cruise speed while braking
LAUNCH_STEPS = (1 / 3, 2 / 3)
BRAKE_M = 50.0  # about 2 m/s2 from 50 km/h: seconds pass between cruising and standing
LAUNCH_M = 30.0


@dataclass(frozen=True)
class Leg:
    t0: float
    t1: float
    s0: float
    s1: float

    @property
    def speed_ms(self) -> float:
        return (self.s1 - self.s0) / (self.t1 - self.t0) if self.t1 > self.t0 else 0.0


@dataclass
class Motion:
    """A timeline of legs along one path, built forwards from `start_t`."""

    start_t: float
    start_s: float = 0.0
    legs: list[Leg] = field(default_factory=list)
    _starts: list[float] = field(default_factory=list)

    def _add(self, leg: Leg) -> None:
        self.legs.append(leg)
        self._starts.append(leg.t0)

    @property
    def t(self) -> float:
        return self.legs[-1].t1 if self.legs else self.start_t

    @property
    def s(self) -> float:
        return self.legs[-1].s1 if self.legs else self.start_s

    def drive(self, to_s: float, kmh: float) -> None:
        distance = to_s - self.s
        if distance > 0:
            self._add(Leg(self.t, self.t + distance / (kmh * KMH), self.s, to_s))

    def hold(self, seconds: float) -> None:
        if seconds > 0:
            self._add(Leg(self.t, self.t + seconds, self.s, self.s))

    def brake(self, to_s: float, kmh: float) -> None:
        """Slow down from `kmh` to a standstill at `to_s`."""
        span = (to_s - self.s) / len(BRAKE_STEPS)
        for fraction in BRAKE_STEPS:
            self.drive(self.s + span, kmh * fraction)

    def launch(self, kmh: float, metres: float = LAUNCH_M) -> None:
        span = metres / len(LAUNCH_STEPS)
        for fraction in LAUNCH_STEPS:
            self.drive(self.s + span, kmh * fraction)

    def stop_at(self, stop_s: float, seconds: float, kmh: float) -> float:
        """Cruise to a stop point, wait there, and pull away again; returns when it stood still."""
        self.drive(max(self.s, stop_s - BRAKE_M), kmh)
        self.brake(stop_s, kmh)
        standstill = self.t
        self.hold(seconds)
        self.launch(kmh)
        return standstill

    def at(self, t: float) -> tuple[float, float]:
        """Arc position and speed (m/s) at time `t` (clamped to the timeline)."""
        if not self.legs or t <= self.start_t:
            return self.start_s, 0.0
        i = bisect.bisect_right(self._starts, t) - 1
        leg = self.legs[max(0, i)]
        if t >= leg.t1:
            return leg.s1, 0.0
        return leg.s0 + leg.speed_ms * (t - leg.t0), leg.speed_ms

    def time_at(self, s: float) -> float:
        """First time the car reaches arc position `s`."""
        for leg in self.legs:
            if leg.s1 >= s and leg.s1 > leg.s0:
                return leg.t0 + (max(s, leg.s0) - leg.s0) / leg.speed_ms
        return self.t
