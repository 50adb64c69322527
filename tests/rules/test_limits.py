"""Hostile rule files are refused fast, naming the file: alias bombs, huge files, deep nesting, slow sets."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from rules import limits
from rules.loader import RuleError, load_rule_dir, load_rules
from tripwatch.cli import main

ACCEPTANCE_S = 10.0


def alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 9)}]")
    return "\n".join(lines) + "\nrules: []\n"


def check_cli(directory: Path) -> tuple[int, str, float]:
    started = time.monotonic()
    result = CliRunner().invoke(main, ["rules", "check", str(directory)])
    return result.exit_code, result.output, time.monotonic() - started


def test_a_nine_level_alias_bomb_is_refused_by_rules_check_within_10_s(tmp_path: Path):
    (tmp_path / "bomb.yaml").write_text(alias_bomb(9))
    code, output, took = check_cli(tmp_path)
    assert code == 1 and took < ACCEPTANCE_S
    assert f"{tmp_path / 'bomb.yaml'}:2:" in output
    assert "aliases (*name) are not allowed in rule files" in output


def test_a_50_mb_file_is_refused_by_rules_check_within_10_s(tmp_path: Path):
    with (tmp_path / "huge.yaml").open("w") as huge:
        huge.write("rules:\n")
        line = "  - {id: r, kind: pickup_delay, description: " + "x" * 100 + "}\n"
        huge.write(line * (50_000_000 // len(line)))
    code, output, took = check_cli(tmp_path)
    assert code == 1 and took < ACCEPTANCE_S
    assert f"{tmp_path / 'huge.yaml'}:1:1: (file): too large: " in output
    assert f"at most {limits.MAX_FILE_BYTES}" in output


def test_the_draft_path_refuses_a_large_file_and_a_large_set_without_parsing():
    big = "rules: []\n#" + "x" * limits.MAX_FILE_BYTES
    with pytest.raises(RuleError) as caught:
        load_rules({"big.yaml": big})
    assert caught.value.problems[0].startswith("big.yaml:1:1: (file): too large: ")
    many = {f"f{i}.yaml": "rules: []\n#" + "x" * 200_000 for i in range(12)}
    with pytest.raises(RuleError) as caught:
        load_rules(many)
    assert caught.value.problems[0].startswith("rule set: rule set too large: ")


def test_deep_nesting_and_long_expressions_are_refused_at_their_place():
    deep = "rules: " + "[" * 40 + "]" * 40 + "\n"
    with pytest.raises(RuleError) as caught:
        load_rules({"deep.yaml": deep})
    assert caught.value.problems[0].startswith("deep.yaml:1:")
    assert f"nested deeper than {limits.MAX_YAML_DEPTH} levels" in caught.value.problems[0]
    long_when = " || ".join(["trip.arrived"] * 400)
    text = f"rules:\n  - id: a\n    kind: pickup_delay\n    when: {long_when}\n"
    with pytest.raises(RuleError) as caught:
        load_rules({"long.yaml": text})
    assert caught.value.problems == [
        f"long.yaml:4:11: rules.0.when: too long: {len(long_when)} characters, "
        f"at most {limits.MAX_EXPRESSION_CHARS}"
    ]


def test_a_check_past_its_time_budget_is_refused_naming_the_file():
    text = "rules:\n  - id: a\n    kind: pickup_delay\n"
    with pytest.raises(RuleError) as caught:
        load_rules({"slow.yaml": text}, budget_s=0.0)
    assert caught.value.problems == ["slow.yaml: refused: the check ran past its 0 s budget"]


def test_rule_files_in_subfolders_are_refused_not_ignored(tmp_path: Path):
    (tmp_path / "top.yaml").write_text("rules: []\n")
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "night.yaml").write_text("rules: []\n")
    with pytest.raises(RuleError) as caught:
        load_rule_dir(tmp_path)
    assert caught.value.problems == [
        f"{tmp_path / 'more' / 'night.yaml'}:1:1: (file): rule files in subfolders are not loaded: "
        f"move it to {tmp_path}"
    ]
