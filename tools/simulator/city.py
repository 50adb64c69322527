"""A synthetic city: a grid of streets with signalised crossings, and routes along it.

Streets run east-west and north-south every `block_m` metres; a route is a monotone
staircase from one crossing to another (as a navigation app would draw it on a grid).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tools.simulator.geometry import Point, Polyline, Projection


@dataclass(frozen=True)
class City:
    name: str = "berlin"
    lat: float = 52.52
    lon: float = 13.405
    block_m: float = 200.0
    half_blocks: int = 20  # the grid spans +-half_blocks crossings around the centre
    signal_every: int = 3  # one crossing in this many has traffic lights

    @property
    def projection(self) -> Projection:
        return Projection(self.lat, self.lon)

    def crossing(self, i: int, j: int) -> Point:
        return (i * self.block_m, j * self.block_m)

    def random_crossing(self, rng: random.Random, margin: int = 0) -> tuple[int, int]:
        limit = self.half_blocks - margin
        return rng.randint(-limit, limit), rng.randint(-limit, limit)

    def crossing_at_distance(
        self, rng: random.Random, origin: tuple[int, int], metres: float
    ) -> tuple[int, int]:
        """A crossing about `metres` away along the streets, inside the grid."""
        steps = max(1, round(metres / self.block_m))
        for _ in range(100):
            di = rng.randint(0, steps) * rng.choice((-1, 1))
            dj = (steps - abs(di)) * rng.choice((-1, 1))
            i, j = origin[0] + di, origin[1] + dj
            if abs(i) <= self.half_blocks and abs(j) <= self.half_blocks and (di or dj):
                return i, j
        return origin[0] + steps, origin[1]

    def route(
        self, rng: random.Random, start: tuple[int, int], end: tuple[int, int], turn_p: float = 0.25
    ) -> Polyline:
        """A staircase path from `start` to `end`, turning at a crossing with probability `turn_p`."""
        i, j = start
        points = [self.crossing(i, j)]
        horizontal = rng.random() < 0.5
        while (i, j) != end:
            if (horizontal and i == end[0]) or (not horizontal and j == end[1]):
                horizontal = not horizontal
            elif rng.random() < turn_p:
                horizontal = not horizontal
                continue
            if horizontal:
                i += 1 if end[0] > i else -1
            else:
                j += 1 if end[1] > j else -1
            points.append(self.crossing(i, j))
        return Polyline(points)

    def l_route(self, start: tuple[int, int], end: tuple[int, int], east_west_first: bool) -> Polyline:
        """The L-shaped path: all the way along one axis, then the other."""
        corner = (end[0], start[1]) if east_west_first else (start[0], end[1])
        return Polyline([self.crossing(*start), self.crossing(*corner), self.crossing(*end)])

    def signalised(self, point: Point) -> bool:
        i, j = round(point[0] / self.block_m), round(point[1] / self.block_m)
        near = abs(point[0] - i * self.block_m) < 1 and abs(point[1] - j * self.block_m) < 1
        return near and (i * 7 + j * 3) % self.signal_every == 0

    def signals_along(self, path: Polyline) -> list[float]:
        """Arc positions of the signalised crossings a path passes (not its ends)."""
        positions = []
        s = self.block_m
        while s < path.length - 1:
            if self.signalised(path.at(s)):
                positions.append(s)
            s += self.block_m
        return positions
