"""`tripwatch rules test`: run a scenario through a rule set, offline, on the scenario's clock.

The same `TripProcessor` the workers run is fed the scenario's events in time order;
the clock jumps from one deadline to the next between events, so a scenario of an hour
runs in milliseconds. What comes out is every incident the rule set raises, to compare
with the scenario's expectations, or with another rule set's incidents (`compare`).
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field

import orjson

from core import names
from core.incidents import SEVERITY_RANK, IncidentChange
from monitor.decoding import BadEvent, DecodeLimits, decode_event
from monitor.processor import TripProcessor
from monitor.trip_state import TripState
from rules.loader import RuleSet
from tools.scenario import ExpectedIncident, Scenario, absolute_event

log = logging.getLogger(__name__)
LIMITS = DecodeLimits(max_bytes=1_000_000, max_age_ms=10**13, max_future_ms=10**13)
TAIL_S = 60.0  # the clock runs on this long after the last event, for deadlines still pending


@dataclass
class Raised:
    """One incident the rule set raised in the scenario (the first open; severity at its worst)."""

    kind: str
    order_id: str
    rule_id: str
    rule_version: str
    severity: str
    onset_s: float  # event time of the trigger, scenario seconds
    summary: str
    labels: dict[str, str] = field(default_factory=dict)  # city, passenger_id: what tests may match on

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.order_id


@dataclass
class DryRun:
    scenario: Scenario
    rules_version: str
    rules: list[tuple[str, str]] = field(default_factory=list)  # (id, kind) of each enabled rule
    raised: dict[tuple[str, str], Raised] = field(default_factory=dict)
    bad_events: list[str] = field(default_factory=list)

    def missing(self) -> list[ExpectedIncident]:
        return [e for e in self.scenario.expected if (e.kind, e.order_id) not in self.raised]

    def unexpected(self) -> list[Raised]:
        expected = {(e.kind, e.order_id) for e in self.scenario.expected}
        return [r for key, r in sorted(self.raised.items()) if key not in expected]


@dataclass
class Comparison:
    added: list[Raised]  # raised by the changed set only
    removed: list[Raised]  # raised by the baseline only
    changed: list[tuple[Raised, Raised]]  # (baseline, changed): same incident, other rule or severity


def run(rule_set: RuleSet, scenario: Scenario, start_ms: int, tail_s: float = TAIL_S) -> DryRun:
    """Every incident `rule_set` raises over `scenario`, started at `start_ms` (epoch ms)."""
    enabled = [(r.id, r.rule.kind) for r in rule_set.rules if r.rule.enabled]
    result = DryRun(scenario, rule_set.version, enabled)
    clock = _Clock(TripProcessor(rule_set))
    processor = clock.processor
    for item in scenario.events:
        now = start_ms + int(item.at_s * 1000)
        clock.run(now, result, start_ms)
        event = absolute_event(item, start_ms, 1.0)
        if item.topic == names.PASSENGERS:
            processor.passengers.put(str(event.get("passenger_id")), event)
            continue
        if item.topic == names.SUPPORT_CONTACTS:
            continue  # a passenger reaching support is matched to incidents, never judged by rules
        try:
            decoded = decode_event(item.topic, orjson.dumps(event), LIMITS, now_ms=now)
        except BadEvent as error:
            result.bad_events.append(f"line {item.line}: {error}")
            continue
        state = clock.trips.setdefault(decoded.order_id, TripState(order_id=decoded.order_id, partition=0))
        _record(result, processor.on_event(state, decoded).changes, start_ms)
        clock.schedule(state)
    end = start_ms + int((scenario.duration_s + tail_s) * 1000)
    clock.run(end, result, start_ms)
    return result


def compare(baseline: DryRun, changed: DryRun) -> Comparison:
    before, after = baseline.raised, changed.raised
    return Comparison(
        added=[after[k] for k in sorted(after.keys() - before.keys())],
        removed=[before[k] for k in sorted(before.keys() - after.keys())],
        changed=[
            (before[k], after[k])
            for k in sorted(before.keys() & after.keys())
            if (before[k].rule_id, before[k].severity) != (after[k].rule_id, after[k].severity)
        ],
    )


class _Clock:
    """The scenario's clock: each trip's next deadline in a heap, so that a step costs the trips
    whose deadline is due, not a look at every trip (500 trips took minutes). An entry is a hint
    checked against the trip's state when it comes up, as the worker's queue is."""

    def __init__(self, processor: TripProcessor) -> None:
        self.processor = processor
        self.trips: dict[str, TripState] = {}
        self._heap: list[tuple[int, str]] = []

    def schedule(self, state: TripState) -> None:
        due = self.processor.next_deadline(state)
        if due is not None:
            heapq.heappush(self._heap, (due, state.order_id))

    def run(self, until_ms: int, result: DryRun, start_ms: int) -> None:
        """Fire every deadline due by `until_ms`, earliest first."""
        done: dict[str, int] = {}  # deadlines that did not move when fired: once per run
        while self._heap and self._heap[0][0] <= until_ms:
            due, order_id = heapq.heappop(self._heap)
            state = self.trips[order_id]
            if order_id in done or self.processor.next_deadline(state) != due:
                continue  # fired this run, or moved since queued (the move queued it anew)
            _record(result, self.processor.on_clock(state, due).changes, start_ms)
            if self.processor.next_deadline(state) == due:
                done[order_id] = due
            else:
                self.schedule(state)
        for order_id, due in done.items():
            heapq.heappush(self._heap, (due, order_id))


def _record(result: DryRun, changes: list[IncidentChange], start_ms: int) -> None:
    for change in changes:
        if change.action != "open":
            continue
        known = result.raised.get((change.kind, change.order_id))
        if known is None:
            result.raised[(change.kind, change.order_id)] = Raised(
                change.kind,
                change.order_id,
                change.rule_id,
                change.rule_version,
                change.severity,
                (change.trigger_ts - start_ms) / 1000,
                change.summary,
                {name: value for name in ("city", "passenger_id") if (value := getattr(change, name))},
            )
        elif SEVERITY_RANK[change.severity] > SEVERITY_RANK[known.severity]:
            known.severity = change.severity
