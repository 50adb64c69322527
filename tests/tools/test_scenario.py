"""The scenario file format and its time shifting."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import names
from tools.scenario import ScenarioError, absolute_event, load_scenario

ROOT = Path(__file__).resolve().parents[2]


def test_demo_scenario_loads_with_its_expectations() -> None:
    scenario = load_scenario(ROOT / "fixtures" / "demo.jsonl")
    assert scenario.name == "demo"
    assert {(e.kind, e.order_id) for e in scenario.expected} == {
        ("pickup_delay", "demo-1"),
        ("pickup_delay", "demo-2"),
    }
    assert [e.at_s for e in scenario.events] == sorted(e.at_s for e in scenario.events)
    assert {e.topic for e in scenario.events} == {names.PASSENGERS, names.TRIP_EVENTS, names.TELEMETRY}


def test_times_are_shifted_to_the_start_and_scaled_by_speed(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"at": 10, "topic": "trip-events", "event": {"type": "order.created", "order_id": "o",'
        ' "promised_pickup_ts": 70}}\n'
        '{"at": 20, "topic": "trip-events", "event": {"type": "driver.arrived", "order_id": "o", "ts": 15}}\n'
    )
    created, arrived = load_scenario(path).events
    assert absolute_event(created, 1_000_000, 1.0) | {} == {
        "type": "order.created",
        "order_id": "o",
        "ts": 1_010_000,
        "promised_pickup_ts": 1_070_000,
    }
    assert absolute_event(arrived, 1_000_000, 1.0)["ts"] == 1_015_000  # arrives late: ts before `at`
    assert absolute_event(created, 1_000_000, 2.0)["promised_pickup_ts"] == 1_035_000
    assert created.key == "o"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "s.jsonl:1: not JSON"),
        ('{"at": 1, "topic": "nope", "event": {}}', "s.jsonl:1: topic must be one of"),
        ('{"at": -1, "topic": "telemetry", "event": {}}', "s.jsonl:1: at must be seconds"),
        ('{"expect": {"kind": "sos"}}', "s.jsonl:1: expect needs kind and order_id"),
        ('{"something": 1}', "s.jsonl:1: expected one of the keys"),
    ],
)
def test_bad_scenario_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)
