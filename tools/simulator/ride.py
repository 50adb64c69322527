"""A ride (or a driver's approach): the path driven, its timeline, and its GPS pings.

A `RidePlan` says where the car goes and what happens on the way (red lights, a jam,
a long stop, a crash); `drive` turns it into a `Motion`; `pings` samples the motion
every few seconds with GPS noise, skipping silences and adding exact pings where asked.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from tools.simulator.emit import TripLog
from tools.simulator.geometry import Point, Polyline
from tools.simulator.motion import BRAKE_M, KMH, Motion


@dataclass(frozen=True)
class Station:
    """Something that happens at arc position `s` of the driven path."""

    s: float
    action: str  # "stop" | "crash" | "jam"
    seconds: float = 0.0
    until_s: float = 0.0  # end of a jam
    kmh: float = 0.0  # crawl speed of a jam, speed before a crash


@dataclass
class RidePlan:
    driven: Polyline
    cruise_kmh: float
    end_s: float
    stations: list[Station] = field(default_factory=list)
    gaps: list[tuple[float, float]] = field(default_factory=list)  # telemetry silences (t0, t1)
    exact_pings: list[tuple[float, float]] = field(default_factory=list)  # (t, speed_kmh)
    outliers: int = 0  # this many pings, in the middle of the ride, are far-off GPS fixes
    gps_sigma_m: float = 4.0
    outlier_m: float = 120.0
    outlier_accuracy_m: float = 150.0
    standstills: dict[float, float] = field(default_factory=dict)  # station s -> when it stood still


def drive(plan: RidePlan, start_t: float, rng: random.Random) -> Motion:
    motion = Motion(start_t)
    cruise = plan.cruise_kmh
    for station in sorted(plan.stations, key=lambda st: st.s):
        if station.s >= plan.end_s or station.s < motion.s:
            continue
        if station.action == "stop":
            plan.standstills[station.s] = motion.stop_at(station.s, station.seconds, cruise)
        elif station.action == "jam":
            _crawl(motion, station, cruise, rng)
        elif station.action == "crash":
            motion.drive(max(motion.s, station.s - 150), cruise)
            motion.drive(station.s, station.kmh)
            plan.standstills[station.s] = motion.t
            motion.hold(station.seconds)
            cruise = 20.0  # shaken: drives on slowly
            motion.launch(cruise)
    motion.drive(max(motion.s, plan.end_s - BRAKE_M), cruise)
    motion.brake(plan.end_s, cruise)
    return motion


def _crawl(motion: Motion, jam: Station, cruise: float, rng: random.Random) -> None:
    """Stop-and-go at walking pace from `jam.s` to `jam.until_s`."""
    motion.drive(jam.s, cruise)
    while motion.s < jam.until_s - 60:
        motion.drive(min(jam.until_s, motion.s + rng.uniform(40, 90)), jam.kmh)
        if rng.random() < 0.5:
            motion.hold(rng.uniform(5, 20))
    motion.drive(jam.until_s, jam.kmh)


def ping_times(
    start_t: float, end_t: float, interval: tuple[float, float], rng: random.Random
) -> list[float]:
    times, t = [], start_t + rng.uniform(0, interval[0])
    while t < end_t - interval[0] / 2:
        times.append(t)
        t += rng.uniform(*interval)
    times.append(end_t)
    return times


def emit_pings(
    log: TripLog,
    plan: RidePlan,
    motion: Motion,
    driver_id: str,
    times: list[float],
    rng: random.Random,
) -> list[float]:
    """Telemetry along the motion at `times` (minus silences, plus exact pings); returns the times used."""
    used = [t for t in times if not _silent(plan, t)]
    exact = dict(plan.exact_pings)
    if exact:
        used = [t for t in used if all(abs(t - e) > 2.0 for e in exact)] + sorted(exact)
        used.sort()
    middle = used[len(used) // 3 : 2 * len(used) // 3]
    outliers = set(rng.sample(middle, min(plan.outliers, len(middle))))
    for t in used:
        s, speed_ms = motion.at(t)
        kmh = exact.get(t, _measured_kmh(speed_ms, rng))
        where, accuracy = _noisy(plan.driven.at(s), plan.gps_sigma_m, rng)
        if t in outliers:
            where, accuracy = _outlier(where, rng, plan.outlier_m, plan.outlier_accuracy_m)
        log.ping(t, driver_id, where, kmh, plan.driven.heading_deg(s), accuracy)
    return used


def _silent(plan: RidePlan, t: float) -> bool:
    return any(t0 <= t < t1 for t0, t1 in plan.gaps)


def _noisy(point: Point, sigma: float, rng: random.Random) -> tuple[Point, float]:
    noisy = (point[0] + rng.gauss(0, sigma), point[1] + rng.gauss(0, sigma))
    return noisy, max(3.0, sigma * rng.uniform(1.5, 2.5))


def _outlier(point: Point, rng: random.Random, metres: float, accuracy: float) -> tuple[Point, float]:
    angle = rng.uniform(0, 2 * math.pi)
    return (point[0] + metres * math.cos(angle), point[1] + metres * math.sin(angle)), accuracy


def with_excursion(path: Polyline, s: float, excursion: list[Point]) -> tuple[Polyline, float]:
    """`path` with a side trip at `s` (out through `excursion` and back to the same spot).

    Returns the new path and the length the side trip adds.
    """
    here = path.at(s)
    before = [p for p, c in zip(path.points, path.cumulative, strict=True) if c < s]
    after = [p for p, c in zip(path.points, path.cumulative, strict=True) if c > s]
    detour = Polyline([*before, here, *excursion, here, *after])
    return detour, detour.length - path.length


def _measured_kmh(speed_ms: float, rng: random.Random) -> float:
    """GPS speed: about 1 km/h of noise when moving, less when slow, none standing still."""
    kmh = speed_ms / KMH
    return kmh + rng.gauss(0, min(1.0, kmh / 20)) if kmh > 0 else 0.0
