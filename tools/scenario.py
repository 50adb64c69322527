"""Scenario files: recorded or generated event sequences, with the incidents they should raise.

A scenario is JSON Lines (see `docs/scenarios.md`). Each line is one of:

- `{"scenario": {"name": ..., "description": ...}}`: a header (optional, first).
- `{"at": 12.5, "topic": "trip-events", "event": {...}}`: produce `event` at 12.5 s.
  In `event`, `ts` and every other field ending in `_ts` are seconds relative to the
  scenario start (`ts` defaults to `at`; an earlier `ts` is an event that arrives late).
- `{"expect": {"kind": "pickup_delay", "order_id": "demo-1", "onset": 150}}`: an incident
  the scenario must raise, with its true onset in scenario seconds.
- `{"negative": {"case": "traffic_jam", "order_id": "sim-00042"}}`: a hard negative, a trip
  that looks alarming but must raise nothing (an incident on it is a false positive).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from core import names

TOPICS = (*names.INPUT_TOPICS, names.PASSENGERS)


class ScenarioError(ValueError):
    """A scenario file that cannot be replayed; the message names file and line."""


@dataclass(frozen=True)
class ScheduledEvent:
    at_s: float
    topic: str
    event: dict[str, Any]
    line: int

    @property
    def key(self) -> str:
        field_name = "passenger_id" if self.topic == names.PASSENGERS else "order_id"
        return str(self.event.get(field_name, ""))


@dataclass(frozen=True)
class ExpectedIncident:
    kind: str
    order_id: str
    onset_s: float | None = None


@dataclass(frozen=True)
class HardNegative:
    case: str
    order_id: str


@dataclass
class Scenario:
    name: str
    description: str = ""
    events: list[ScheduledEvent] = field(default_factory=list)
    expected: list[ExpectedIncident] = field(default_factory=list)
    negatives: list[HardNegative] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return max((e.at_s for e in self.events), default=0.0)


def load_scenario(path: Path) -> Scenario:
    scenario = Scenario(name=path.stem)
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text.strip():
            _read_line(scenario, path, number, text)
    scenario.events.sort(key=lambda e: (e.at_s, e.line))
    return scenario


def _read_line(scenario: Scenario, path: Path, number: int, text: str) -> None:
    where = f"{path}:{number}"
    try:
        line = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise ScenarioError(f"{where}: not JSON: {error}") from None
    if not isinstance(line, dict):
        raise ScenarioError(f"{where}: expected a JSON object")
    if "scenario" in line:
        scenario.name = line["scenario"].get("name", scenario.name)
        scenario.description = line["scenario"].get("description", "")
    elif "expect" in line:
        scenario.expected.append(_expected(where, line["expect"]))
    elif "event" in line:
        scenario.events.append(_scheduled(where, number, line))
    elif "negative" in line:
        scenario.negatives.append(_negative(where, line["negative"]))
    else:
        raise ScenarioError(f"{where}: expected one of the keys scenario, event, expect, negative")


def _expected(where: str, item: Any) -> ExpectedIncident:
    if not isinstance(item, dict) or not {"kind", "order_id"} <= item.keys():
        raise ScenarioError(f"{where}: expect needs kind and order_id")
    return ExpectedIncident(str(item["kind"]), str(item["order_id"]), item.get("onset"))


def _negative(where: str, item: Any) -> HardNegative:
    if not isinstance(item, dict) or not {"case", "order_id"} <= item.keys():
        raise ScenarioError(f"{where}: negative needs case and order_id")
    return HardNegative(str(item["case"]), str(item["order_id"]))


def _scheduled(where: str, number: int, line: dict[str, Any]) -> ScheduledEvent:
    topic, at, event = line.get("topic"), line.get("at"), line["event"]
    if topic not in TOPICS:
        raise ScenarioError(f"{where}: topic must be one of {', '.join(TOPICS)} (got {topic!r})")
    if not isinstance(at, int | float) or at < 0:
        raise ScenarioError(f"{where}: at must be seconds from the start, 0 or more (got {at!r})")
    if not isinstance(event, dict):
        raise ScenarioError(f"{where}: event must be a JSON object")
    return ScheduledEvent(float(at), topic, event, number)


def absolute_event(item: ScheduledEvent, start_ms: int, speed: float) -> dict[str, Any]:
    """The event with its relative times made absolute (ms since the epoch).

    Times are compressed by `speed` along with the pace, so a replay at 10x keeps every
    promise and deadline in step with the events around it.
    """
    scale = 1.0 / speed if speed > 0 else 1.0
    event = dict(item.event)
    if item.topic != names.PASSENGERS:
        event.setdefault("ts", item.at_s)
    for name, value in event.items():
        if (name == "ts" or name.endswith("_ts")) and isinstance(value, int | float):
            event[name] = start_ms + int(value * 1000 * scale)
    return event
