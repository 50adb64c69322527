"""A whole simulated scenario: passengers, every trip's events, labels; written as JSON Lines."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from core import names
from tools.simulator.config import SimConfig, describe
from tools.simulator.emit import Delivery
from tools.simulator.trip import simulate_trip

NORMAL = "normal"
PASSENGER_NAMES = (
    ("Anna Schmidt", "de"), ("Oleg Petrov", "ru"), ("Li Na", "zh"), ("Emma Wilson", "en"),
    ("Lucas Martin", "fr"), ("Sofia Rossi", "it"), ("Mateo Garcia", "es"), ("Aylin Demir", "tr"),
)  # fmt: skip


@dataclass
class GeneratedScenario:
    config: SimConfig
    deliveries: list[Delivery] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    negatives: list[dict[str, str]] = field(default_factory=list)
    cases: dict[str, str] = field(default_factory=dict)  # order_id -> case

    def lines(self) -> Iterator[dict[str, Any]]:
        yield {"scenario": self.header()}
        for item in self.deliveries:
            yield item.line()
        for label in self.labels:
            yield {"expect": label}
        for negative in self.negatives:
            yield {"negative": negative}

    def header(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for case in self.cases.values():
            counts[case] = counts.get(case, 0) + 1
        return {
            "name": f"simulated-{self.config.seed}",
            "description": f"{self.config.trips} simulated trips, seed {self.config.seed}",
            "cases": dict(sorted(counts.items())),
            "config": describe(self.config),
        }


def assign_cases(config: SimConfig) -> list[str]:
    """Exactly round(rate x trips) trips per case (largest remainders), the rest normal, shuffled."""
    wanted = {case: rate * config.trips for case, rate in config.rates.items() if rate > 0}
    counts = {case: int(value) for case, value in wanted.items()}
    spare = min(config.trips, round(sum(wanted.values()))) - sum(counts.values())
    for case in sorted(wanted, key=lambda c: (counts[c] - wanted[c], c))[: max(0, spare)]:
        counts[case] += 1
    cases = [case for case in sorted(counts) for _ in range(counts[case])]
    cases += [NORMAL] * (config.trips - len(cases))
    random.Random(f"{config.seed}:cases").shuffle(cases)
    return cases


def generate(config: SimConfig) -> GeneratedScenario:
    scenario = GeneratedScenario(config)
    passengers = _passengers(config)
    scenario.deliveries.extend(Delivery(0.0, names.PASSENGERS, p) for p in passengers)
    spacing = config.window_s / max(1, config.trips)
    for index, case in enumerate(assign_cases(config)):
        rng = random.Random(f"{config.seed}:start:{index}")
        start_t = 1.0 + index * spacing + rng.uniform(0, spacing)
        passenger_id = passengers[rng.randrange(len(passengers))]["passenger_id"]
        trip = simulate_trip(config, index, case, start_t, passenger_id)
        scenario.deliveries.extend(trip.deliveries)
        scenario.labels.extend(trip.labels)
        scenario.cases[trip.order_id] = case
        if case != NORMAL and not trip.labels:
            scenario.negatives.append({"case": case, "order_id": trip.order_id})
    scenario.deliveries.sort(key=lambda d: d.at)
    return scenario


def _passengers(config: SimConfig) -> list[dict[str, Any]]:
    rng = random.Random(f"{config.seed}:passengers")
    records = []
    for k in range(max(1, config.trips // 2)):
        name, locale = rng.choice(PASSENGER_NAMES)
        record: dict[str, Any] = {
            "passenger_id": f"p-{config.order_prefix}-{k:05d}",
            "name": name,
            "locale": locale,
            "phone": f"+4917{rng.randint(10_000_000, 99_999_999)}",
            "push_token": f"tok-{config.order_prefix}-{k:05d}",
            "channels": ["push", "sms"],
        }
        if rng.random() < 0.1:
            record["opted_out"] = ["sms"]
        if rng.random() < 0.05:
            record["vip"] = True
        records.append(record)
    return records


def write_scenario(scenario: GeneratedScenario, path: Path) -> int:
    """Write the scenario as JSON Lines; returns the number of events."""
    with path.open("wb") as sink:
        for line in scenario.lines():
            sink.write(orjson.dumps(line) + b"\n")
    return len(scenario.deliveries)
