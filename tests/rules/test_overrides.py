"""Overrides: a built-in rule changed by id without a copy; the parts checked where they are written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rules.loader import RuleError, load_rule_dir, load_rules
from tripwatch.cli import main

TEMPLATES = {"pickup_delay"}
BASE = (
    "rules:\n  - id: pickup-delay\n    kind: pickup_delay\n    params: {grace_s: 60}\n"
    '    when: trip.city != "hamburg"\n    exceptions:\n      - {name: a, when: passenger.vip}\n'
)
CHANGE = """overrides:
  - id: pickup-delay
    append:
      when: time.hour >= 6
      params: {eta_overrun_s: 600}
      exceptions:
        - {name: trusted, when: 'trip.driver_id == "d-1"'}
    replace:
      severity: high
"""


def test_an_override_appends_and_replaces_by_id():
    rule_set = load_rules({"base.yaml": BASE, "local.yaml": CHANGE}, TEMPLATES)
    rule = rule_set.by_id("pickup-delay")
    assert rule.when.source == '(trip.city != "hamburg") && (time.hour >= 6)'
    assert (rule.params.grace_s, rule.params.eta_overrun_s) == (60, 600)
    assert [name for name, _ in rule.exceptions] == ["a", "trusted"]
    assert rule.rule.severity == "high" and rule.changed_by == ("local.yaml:2",)
    assert rule.source == "base.yaml:2"
    assert rule.version != load_rules({"base.yaml": BASE}, TEMPLATES).by_id("pickup-delay").version


def test_replace_puts_the_given_parts_in_place():
    change = (
        "overrides:\n  - id: pickup-delay\n    replace:\n      when: passenger.vip\n      exceptions: []\n"
    )
    rule = load_rules({"base.yaml": BASE, "local.yaml": change}, TEMPLATES).by_id("pickup-delay")
    assert rule.when.source == "passenger.vip" and rule.exceptions == ()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            "overrides:\n  - id: pickup-dealy\n    replace: {severity: high}\n",
            "local.yaml:2:9: overrides.0.id: no rule 'pickup-dealy' to override (did you mean 'pickup-delay'?)",
        ),
        (
            "overrides:\n  - id: pickup-delay\n    append:\n      when: trip.city > 3\n",
            "local.yaml:4:13: overrides.0.append.when: wrong type: `trip.city` is a string, "
            "compared with the number 3",
        ),
        (
            "overrides:\n  - id: pickup-delay\n    append:\n      params: {grace: 10}\n",
            "local.yaml:4:16: overrides.0.append.params.grace: unknown field 'grace' (did you mean 'grace_s'?)",
        ),
        (
            "overrides:\n  - id: pickup-delay\n    apend:\n      when: passenger.vip\n",
            "local.yaml:3:5: overrides.0.apend: unknown field 'apend' (did you mean 'append'?)",
        ),
    ],
)
def test_a_bad_override_is_refused_where_it_is_written(change: str, problem: str):
    with pytest.raises(RuleError) as caught:
        load_rules({"base.yaml": BASE, "local.yaml": change}, TEMPLATES)
    assert caught.value.problems == [problem]


def test_rules_check_shows_the_effective_rule(tmp_path: Path):
    shutil.copy(Path(__file__).parents[2] / "rules" / "pack" / "pickup_delay.yaml", tmp_path)
    (tmp_path / "local.yaml").write_text(CHANGE)
    assert load_rule_dir(tmp_path).by_id("pickup-delay").changed_by == (f"{tmp_path / 'local.yaml'}:2",)
    result = CliRunner().invoke(main, ["rules", "check", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        f"effective rule pickup-delay ({tmp_path / 'pickup_delay.yaml'}:3, changed by {tmp_path / 'local.yaml'}:2):\n"
        "  id: pickup-delay\n  kind: pickup_delay\n  detector: pickup_delay\n"
        "  params:\n    grace_s: 120\n    eta_overrun_s: 600\n  when: time.hour >= 6\n  severity: high\n"
    )
