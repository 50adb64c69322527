"""Run a scenario file through a TripProcessor on a simulated clock (no broker): what opens, and when.

The clock behaves as the worker's: events are processed at their arrival (`at`), and every
deadline fires as soon as the clock reaches it, between events and after the last one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson

from core import names
from core.incidents import IncidentChange
from monitor.decoding import decode_event
from monitor.processor import TripProcessor
from monitor.trip_state import TripState
from tests.monitor.trips import LIMITS, NOON
from tools.scenario import absolute_event, load_scenario

TAIL_S = 900.0  # the clock runs on this long after the last event, for deadlines


@dataclass
class Detection:
    change: IncidentChange
    detected_s: float  # on the scenario's clock


@dataclass
class Run:
    first_open: dict[tuple[str, str], Detection] = field(default_factory=dict)
    changes: list[IncidentChange] = field(default_factory=list)


def run_scenario(path: Path, processor: TripProcessor, t0: int = NOON) -> Run:
    scenario = load_scenario(path)
    states: dict[str, TripState] = {}
    run = Run()

    def record(changes: list[IncidentChange], clock_ms: int) -> None:
        for change in changes:
            run.changes.append(change)
            key = (change.kind, change.order_id)
            if change.action == "open" and key not in run.first_open:
                run.first_open[key] = Detection(change, (clock_ms - t0) / 1000)

    def clock_to(until_ms: int) -> None:
        while True:
            dues = [(processor.next_deadline(s), s) for s in states.values()]
            dues = [(d, s) for d, s in dues if d is not None and d <= until_ms]
            if not dues:
                return
            due, state = min(dues, key=lambda pair: pair[0])
            record(processor.on_clock(state, due).changes, due)

    for item in scenario.events:
        if item.topic == names.PASSENGERS:
            continue
        arrival = t0 + int(item.at_s * 1000)
        clock_to(arrival)
        event = absolute_event(item, t0, 1.0)
        decoded = decode_event(item.topic, orjson.dumps(event), LIMITS, now_ms=arrival)
        state = states.setdefault(decoded.order_id, TripState(order_id=decoded.order_id, partition=0))
        record(processor.on_event(state, decoded).changes, arrival)
    clock_to(t0 + int((scenario.duration_s + TAIL_S) * 1000))
    return run
