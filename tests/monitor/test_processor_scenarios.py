"""The hand-checked scenarios under fixtures/: each kind is detected on time, the hard negatives stay silent.

Run through the processor with the built-in rule pack on a simulated clock (the same
decisions the worker makes; its wiring is covered by the end-to-end tests).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.processor import TripProcessor
from rules.loader import load_rule_dir
from tests.monitor.scenario_runner import run_scenario
from tests.monitor.trips import PACK
from tools.scenario import load_scenario

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
KINDS = sorted((FIXTURES / "kinds").glob("*.jsonl"))
NEGATIVES = sorted((FIXTURES / "negatives").glob("*.jsonl"))
BUILTIN_KINDS = {
    "pickup_delay", "trip_delay", "driver_cancellation", "system_cancellation", "route_deviation",
    "payment_failure", "double_charge", "sos", "crash_suspected", "long_stop", "signal_lost", "early_end",
}  # fmt: skip
LATENESS_S = 1.0


def pack_processor(**options: int) -> TripProcessor:
    return TripProcessor(load_rule_dir(PACK), **options)


def test_every_kind_has_a_scenario_and_the_required_negatives_exist():
    assert {path.stem for path in KINDS} == BUILTIN_KINDS
    expected = {e.kind for path in KINDS for e in load_scenario(path).expected}
    assert expected == BUILTIN_KINDS
    required = {"traffic_jam", "accepted_reroute", "gps_jitter", "red_light", "payment_retry_succeeds"}
    assert {path.stem for path in NEGATIVES} >= required | {"late_out_of_order"}


@pytest.mark.parametrize("path", KINDS, ids=lambda p: p.stem)
def test_kind_scenario_raises_exactly_its_incidents_on_time(path: Path):
    scenario = load_scenario(path)
    run = run_scenario(path, pack_processor())
    expected = {(e.kind, e.order_id): e.onset_s for e in scenario.expected}
    assert set(run.first_open) == set(expected)
    for key, onset in expected.items():
        late_by = run.first_open[key].detected_s - onset
        # decided at the event, at the deadline plus the allowed lateness, or (a speed drop) at the
        # confirming ping one interval later
        assert 0 <= late_by <= 4.5, (key, late_by)


@pytest.mark.parametrize("path", NEGATIVES, ids=lambda p: p.stem)
def test_hard_negative_raises_nothing(path: Path):
    run = run_scenario(path, pack_processor())
    assert run.changes == []


def test_without_allowed_lateness_the_late_scenario_would_raise_a_false_pickup_delay():
    """The late negative is a real test: the arrival that comes 0.7 s late needs the lateness."""
    run = run_scenario(
        FIXTURES / "negatives" / "late_out_of_order.jsonl", pack_processor(allowed_lateness_ms=0)
    )
    assert {kind for kind, _ in run.first_open} == {"pickup_delay"}


def test_kind_scenarios_resolve_what_clears():
    run = run_scenario(FIXTURES / "kinds" / "route_deviation.jsonl", pack_processor())
    assert [c.action for c in run.changes if c.kind == "route_deviation"] == ["open", "resolve"]
    run = run_scenario(FIXTURES / "kinds" / "signal_lost.jsonl", pack_processor())
    assert [c.reason for c in run.changes if c.action == "resolve"] == ["telemetry is back"]


def test_the_demo_raises_exactly_the_incidents_the_readme_names():
    """README: a pickup_delay for demo-1 and one for demo-2; demo-3 goes well (pings all the way)."""
    demo = FIXTURES / "demo.jsonl"
    run = run_scenario(demo, pack_processor())
    named = {("pickup_delay", "demo-1"), ("pickup_delay", "demo-2")}
    opened = {(c.kind, c.order_id) for c in run.changes if c.action == "open"}
    assert opened == named
    assert {(e.kind, e.order_id) for e in load_scenario(demo).expected} == named
    readme = (FIXTURES.parent / "README.md").read_text()
    assert "a `pickup_delay` incident opens on the board for demo-1" in readme
    assert "A second one opens" in readme and "demo-2" in readme and "demo-3 goes well" in readme
