"""The registry of kinds: severity and safety come from the rule pack's YAML, nowhere else."""

from __future__ import annotations

from pathlib import Path

from core.incidents import BUILTIN_KINDS, SAFETY_KINDS
from core.kinds import KINDS, Kind, read_pack


def test_a_kind_is_read_from_its_rule_severity_and_safety_tag(tmp_path: Path):
    (tmp_path / "b.yaml").write_text(
        "rules:\n  - {id: b, kind: bridge_jump, severity: critical, tags: [route, safety]}\n"
    )
    (tmp_path / "a.yaml").write_text("rules:\n  - {id: a, kind: slow_lift, severity: low}\n")
    (tmp_path / "cities.yaml").write_text("timezones: {berlin: Europe/Berlin}\n")
    assert read_pack(tmp_path) == {
        "slow_lift": Kind("slow_lift", "low", safety=False),
        "bridge_jump": Kind("bridge_jump", "critical", safety=True),
    }


def test_the_shipped_kinds_and_safety_kinds_are_the_packs():
    assert set(BUILTIN_KINDS) == set(KINDS) and len(BUILTIN_KINDS) == 12
    assert SAFETY_KINDS == {"sos", "crash_suspected", "long_stop", "signal_lost", "early_end"}
    assert KINDS["signal_lost"].severity == "high"


def test_route_deviation_is_safety_only_when_critical():
    # the catalogue files it under "route"; at night or heading away its rule opens it critical,
    # and critical counts as safety (IncidentView.is_safety, the board's order)
    assert not KINDS["route_deviation"].safety
