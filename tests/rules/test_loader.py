"""The rule loader: one bad-rule fixture per error class, each with its exact position and words."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.loader import RuleError, load_rule_dir, load_rules
from rules.templates import available_templates

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
PACK = HERE.parent.parent / "rules" / "pack"
TEMPLATES = {"pickup_delay", "trip_delay"}

# fixture folder (named after the error class) -> (file, line:col: path: message)
EXPECTED = {
    "unknown_field": (
        "rules.yaml",
        "5:5: rules.0.sevrity_note: unknown field 'sevrity_note' (did you mean 'severity'?)",
    ),
    "wrong_type": (
        "rules.yaml",
        "4:14: rules.0.enabled: wrong type: expected true or false, got 'sometimes'",
    ),
    "out_of_range": (
        "rules.yaml",
        "5:16: rules.0.params.grace_s: out of range: must be at least 0 (got -30)",
    ),
    "bad_expression": ("rules.yaml", "6:39: rules.0.when: bad expression: unexpected ')'"),
    "unknown_template": (
        "rules.yaml",
        "6:19: rules.0.actions.notify.template: unknown template 'pikcup_delay' "
        "(did you mean 'pickup_delay'?)",
    ),
    "unknown_channel": (
        "rules.yaml",
        "6:26: rules.0.actions.notify.channels.1: unknown channel 'fax'; expected 'push', 'sms' or 'webhook'",
    ),
    "unknown_kind": (
        "rules.yaml",
        "3:11: rules.0.kind: unknown kind 'pickup_dealy' (did you mean 'pickup_delay'?); "
        "declare a new kind under `kinds:`",
    ),
    "duplicate_key": ("rules.yaml", "6:5: rules.0.when: duplicate key 'when', first at line 4"),
    "duplicate_id": (
        "b.yaml",
        "3:9: rules.0.id: duplicate rule id 'pickup-delay', first defined at {dir}/a.yaml:2",
    ),
    "unknown_macro": (
        "rules.yaml",
        "6:36: rules.0.when: unknown macro or list 'nigth' (did you mean 'night'?)",
    ),
    "unknown_list": (
        "rules.yaml",
        "9:24: rules.0.exceptions.0.when: unknown macro or list 'airport_citys' "
        "(did you mean 'airport_cities'?)",
    ),
    "unknown_expression_field": (
        "rules.yaml",
        "4:34: rules.0.when: unknown field trip.citty (did you mean 'trip.city'?)",
    ),
    "expression_type": (
        "rules.yaml",
        "6:15: rules.0.escalate.0.when: wrong type: `event.overrun_s` is a number and `60` a whole number: "
        "arithmetic does not mix them (write double(…) or int(…))",
    ),
    "type_behind_and": (
        "rules.yaml",
        "4:28: rules.0.when: wrong type: `trip.city` is a string, compared with the number 3",
    ),
    "quoted_number": (
        "rules.yaml",
        "5:16: rules.0.params.grace_s: wrong type: expected a number, got '300'",
    ),
    "unknown_detector": (
        "rules.yaml",
        "4:15: rules.0.detector: unknown detector 'pickup_dlay' (did you mean 'pickup_delay'?)",
    ),
    "invalid_yaml": (
        "rules.yaml",
        "4:4: (file): not valid YAML: expected <block end>, but found '<block mapping start>'",
    ),
    "bad_duration": (
        "rules.yaml",
        "5:24: rules.0.actions.repeat_interval: not a duration like 90s, 10m or 2h (got 'ten minutes')",
    ),
    "bad_resolve_after": (
        "rules.yaml",
        "6:22: rules.0.actions.resolve_after: not a duration like 90s, 10m or 2h (got '9 days')",
    ),
}


def test_every_fixture_folder_has_an_expectation():
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} == set(EXPECTED)


@pytest.mark.parametrize("error_class", sorted(EXPECTED))
def test_bad_rule_is_refused_at_its_line_and_column(error_class: str):
    folder = FIXTURES / error_class
    file, rest = EXPECTED[error_class]
    with pytest.raises(RuleError) as caught:
        load_rule_dir(folder, templates=TEMPLATES)
    assert caught.value.problems == [f"{folder / file}:{rest.format(dir=folder)}"]


def test_the_built_in_pack_and_the_test_pack_load_with_the_real_templates():
    for folder in (PACK, HERE / "worker_set"):
        rule_set = load_rule_dir(folder)
        assert rule_set.by_id("pickup-delay") is not None
    assert "pickup_delay" in available_templates()


def test_a_set_is_refused_as_a_whole_and_every_problem_is_listed():
    good = "rules:\n  - id: a\n    kind: pickup_delay\n"
    bad = "rules:\n  - id: b\n    kind: pickup_delay\n    severity: urgent\n    when: trip.hour > 1\n"
    with pytest.raises(RuleError) as caught:
        load_rules({"good.yaml": good, "bad.yaml": bad}, templates=TEMPLATES)
    assert caught.value.problems == [
        "bad.yaml:4:15: rules.0.severity: unknown severity 'urgent'; "
        "expected 'critical', 'high', 'medium' or 'low'",
    ]
    bad_when = "rules:\n  - id: b\n    kind: pickup_delay\n    when: trip.hour > 1\n"
    with pytest.raises(RuleError) as caught:
        load_rules({"good.yaml": good, "bad.yaml": bad_when}, templates=TEMPLATES)
    assert caught.value.problems == [
        "bad.yaml:4:16: rules.0.when: unknown field trip.hour (did you mean 'time.hour'?)",
    ]


FULL = """
kinds: [airport_wait]
timezones: {berlin: Europe/Berlin}
lists:
  airport_cities: [berlin, munich]
macros:
  night: time.hour >= 22 || time.hour < 5
  late_night_vip: night && passenger.vip
rules:
  - id: pickup-delay-berlin
    kind: pickup_delay
    params: {grace_s: 60}
    when: trip.city in airport_cities
    escalate:
      - {when: late_night_vip, severity: critical}
    exceptions:
      - {name: trusted, when: 'trip.driver_id == "d-trusted"'}
    actions:
      notify: {template: pickup_delay, channels: [sms]}
      open_case: true
      page: {to: berlin-night-desk, after: 5m}
      repeat_interval: 10m
    tags: [delay]
"""


def test_a_full_rule_loads_with_its_shared_pieces():
    rule_set = load_rules({"full.yaml": FULL}, templates=TEMPLATES)
    rule = rule_set.by_id("pickup-delay-berlin")
    assert rule is not None and rule.rule.detector == "pickup_delay"
    assert rule.params.grace_s == 60
    assert rule.rule.actions.page.after == 300 and rule.rule.actions.repeat_interval == 600
    assert rule.rule.actions.notify.channels == ["sms"]
    assert rule.when.lists == ("airport_cities",) and rule.escalations[0][1].macros == ("late_night_vip",)
    assert rule_set.timezones == {"berlin": "Europe/Berlin"}


def test_versions_follow_content_including_the_macros_a_rule_uses():
    first = load_rules({"full.yaml": FULL}, templates=TEMPLATES)
    again = load_rules({"other-name.yaml": FULL}, templates=TEMPLATES)
    changed = load_rules({"full.yaml": FULL.replace("time.hour < 5", "time.hour < 6")}, templates=TEMPLATES)
    assert first.version == again.version
    assert first.by_id("pickup-delay-berlin").version == again.by_id("pickup-delay-berlin").version
    assert changed.version != first.version
    assert changed.by_id("pickup-delay-berlin").version != first.by_id("pickup-delay-berlin").version


def test_macro_cycles_and_name_clashes_are_refused():
    text = (
        "lists:\n  trip: [a]\nmacros:\n  a: b && true\n  b: a || false\n"
        "rules:\n  - id: x\n    kind: pickup_delay\n"
    )
    with pytest.raises(RuleError) as caught:
        load_rules({"r.yaml": text}, templates=TEMPLATES)
    assert caught.value.problems == [
        "r.yaml:2:3: lists.trip: 'trip' is a built-in object; choose another name",
        "r.yaml:4:6: macros.a: macro 'a' uses itself (through other macros)",
        "r.yaml:5:6: macros.b: macro 'b' uses itself (through other macros)",
    ]


def test_a_declared_kind_is_accepted_and_an_unknown_time_zone_is_not():
    text = "kinds: [airport_wait]\ntimezones: {berlin: Europe/Berlni}\nrules: []\n"
    with pytest.raises(RuleError) as caught:
        load_rules({"r.yaml": text}, templates=TEMPLATES)
    assert caught.value.problems == ["r.yaml:2:21: timezones.berlin: unknown time zone 'Europe/Berlni'"]


def test_templates_are_read_from_the_outreach_folders(tmp_path: Path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "pickup_delay.j2").write_text("x")
    (tmp_path / "storm").mkdir()
    (tmp_path / "storm" / "en.sms.j2").write_text("x")
    assert available_templates(tmp_path) == {"pickup_delay", "storm"}
    assert "sos" in available_templates(tmp_path / "missing")  # none yet: the built-in kinds
