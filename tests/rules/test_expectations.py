"""Test files beside the rules: scenarios with the incidents they must raise; diffs, JUnit XML, JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree

from click.testing import CliRunner

from tripwatch.cli import main

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "scenarios" / "grace_change.jsonl"
PASSING = f"""tests:
  - name: both late pickups in Berlin are high
    scenario: {SCENARIO}
    start: "2026-01-10T12:00:00+00:00"
    incidents:
      - {{kind: pickup_delay, order: late, severity: high, rule: pickup-delay, within: 2m, labels: {{city: berlin}}}}
      - {{kind: pickup_delay, order: quick, severity: high, within: 90s}}
"""
FAILING = f"""tests:
  - name: wrong expectations
    scenario: {SCENARIO}
    start: "2026-01-10T12:00:00+00:00"
    incidents:
      - {{kind: pickup_delay, order: late, severity: medium, within: 1m, labels: {{city: hamburg}}}}
      - {{kind: pickup_delay, order: hh}}
"""


def rules_with(tmp_path: Path, **tests: str) -> Path:
    for rule_file in (HERE / "packs" / "change").glob("*.yaml"):
        shutil.copy(rule_file, tmp_path)
    for name, text in tests.items():
        (tmp_path / f"{name}.test.yaml").write_text(text)
    return tmp_path


def test_passing_test_files_exit_0_and_are_not_loaded_as_rules(tmp_path: Path):
    directory = rules_with(tmp_path, grace=PASSING)
    result = CliRunner().invoke(main, ["rules", "test", str(directory)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"ok   both late pickups in Berlin are high ({directory / 'grace.test.yaml'})",
        "1 of 1 test(s) passed",
    ]
    assert CliRunner().invoke(main, ["rules", "check", str(directory)]).output.startswith("ok: 1 rules")


def test_a_failing_case_prints_a_diff_exits_1_and_writes_junit_and_json(tmp_path: Path):
    directory = rules_with(tmp_path, a_grace=PASSING, b_wrong=FAILING)
    junit, report = tmp_path / "out.xml", tmp_path / "out.json"
    result = CliRunner().invoke(
        main, ["rules", "test", str(directory), "--junit", str(junit), "--json", str(report)]
    )
    assert result.exit_code == 1
    diff = [
        "~ pickup_delay on late: severity high, expected medium",
        "~ pickup_delay on late: opened at 90 s, expected within 60 s",
        "~ pickup_delay on late: label city 'berlin', expected 'hamburg'",
        "- pickup_delay on hh: not raised",
        "+ pickup_delay on quick (high, rule pickup-delay): not expected",
    ]
    assert f"FAIL wrong expectations ({directory / 'b_wrong.test.yaml'})\n" in result.output
    assert "".join(f"    {line}\n" for line in diff) in result.output
    assert result.output.endswith("1 of 2 test(s) passed\n")
    suite = ElementTree.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    failure = suite.find("testcase[@name='wrong expectations']/failure")
    assert failure is not None and failure.text.splitlines() == diff
    document = json.loads(report.read_text())
    assert document["passed"] is False and [c["passed"] for c in document["cases"]] == [True, False]


def test_a_misspelt_key_in_a_test_file_is_refused_at_its_line(tmp_path: Path):
    directory = rules_with(tmp_path, bad=PASSING.replace("severity: high, rule", "sevrity: high, rule"))
    result = CliRunner().invoke(main, ["rules", "test", str(directory)])
    assert result.exit_code == 1
    assert (
        f"{directory / 'bad.test.yaml'}:6:43: tests.0.incidents.0.sevrity: unknown field 'sevrity' (did you mean 'severity'?)"
        in result.output
    )
