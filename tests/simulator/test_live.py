"""Live production's pacing and the in-memory scenario it replays."""

from __future__ import annotations

from pathlib import Path

from tools.scenario import load_scenario
from tools.simulator import SimConfig, generate, write_scenario
from tools.simulator.live import paced_for, to_scenario


def test_window_gives_the_target_rate_in_the_steady_state() -> None:
    config = SimConfig(trips=30, seed=2)
    events = len(generate(config).deliveries)
    paced = paced_for(config, events_per_s=50.0)
    assert paced.window_s == events / 50.0
    # The window moves trips in time; their events stay (but for float rounding at a boundary).
    assert abs(len(generate(paced).deliveries) - events) < events * 0.02


def test_in_memory_scenario_equals_the_written_file(tmp_path: Path) -> None:
    generated = generate(SimConfig(trips=20, seed=8))
    path = tmp_path / "s.jsonl"
    write_scenario(generated, path)
    from_file, in_memory = load_scenario(path), to_scenario(generated)
    assert [(e.at_s, e.topic, e.event) for e in in_memory.events] == [
        (e.at_s, e.topic, e.event) for e in from_file.events
    ]
    assert in_memory.expected == from_file.expected and in_memory.negatives == from_file.negatives
    assert in_memory.name == from_file.name
