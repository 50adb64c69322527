"""Warnings: likely mistakes that load, each at its place; `rules check --strict` refuses them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rules.loader import load_rules
from tripwatch.cli import main

TEMPLATES = {"pickup_delay"}
HEAD = "timezones: {berlin: Europe/Berlin, munich: Europe/Berlin}\n"


def warnings_for(when: str, extra: str = "") -> list[str]:
    text = HEAD + extra + f"rules:\n  - id: r\n    kind: pickup_delay\n    when: {when}\n"
    return [w.split(": warning: ", 1)[1] for w in load_rules({"r.yaml": text}, TEMPLATES).warnings]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("time.hour > 24", "`time.hour > 24` can never be true: time.hour is 0–23"),
        ("time.hour >= 0", "`time.hour >= 0` is always true: time.hour is 0–23"),
        (
            'time.day == "saturday"',
            "time.day is never 'saturday': it is one of mon, tue, wed, thu, fri, sat, sun",
        ),
        ('trip.city == "Berlin"', "trip.city arrives in lower case: 'Berlin' never matches (write 'berlin')"),
        (
            'trip.city == "paris"',
            "'paris' is not a city of this rule set (cities with a time zone: berlin, munich)",
        ),
        (
            'trip.city == "berlin" && trip.city == "munich"',
            '`trip.city == "berlin" && trip.city == "munich"` can never be true: trip.city cannot be both',
        ),
        ("'false'", "the condition is always false: `false`"),
        (
            'trip.city == "berlin" || trip.city != "berlin"',
            '`trip.city == "berlin" || trip.city != "berlin"` is always true',
        ),
    ],
)
def test_a_likely_mistake_is_warned_about(when: str, expected: str):
    assert expected in warnings_for(when)


def test_a_list_of_capitalised_cities_is_warned_about_at_its_use():
    found = warnings_for("trip.city in big_cities", "lists:\n  big_cities: [Berlin, munich]\n")
    assert found == ["trip.city arrives in lower case: 'Berlin' never matches (write 'berlin')"]


def test_plain_conditions_raise_no_warning():
    assert warnings_for('trip.city in ["berlin", "munich"] && (time.hour >= 22 || time.hour < 5)') == []


def test_unused_macros_and_lists_and_empty_files_are_warned_about_at_their_line():
    text = (
        "lists:\n  spare: [a]\nmacros:\n  night: time.hour >= 22\n  unused: passenger.vip\n"
        "rules:\n  - id: r\n    kind: pickup_delay\n    when: night\n"
    )
    rule_set = load_rules({"r.yaml": text, "empty.yaml": "# nothing yet\n"}, TEMPLATES)
    assert list(rule_set.warnings) == [
        "empty.yaml:1:1: (file): warning: empty file: no rules, lists, macros, kinds or time zones",
        "r.yaml:2:3: lists.spare: warning: list 'spare' is used by no rule",
        "r.yaml:5:3: macros.unused: warning: macro 'unused' is used by no rule",
    ]


def test_a_notifying_kind_without_a_template_in_some_locale_is_warned_about(tmp_path: Path):
    text = (
        "kinds: [airport_wait]\nrules:\n  - id: airport\n    kind: airport_wait\n    detector: pickup_delay\n"
        "    actions:\n      notify: {channels: [sms]}\n"
    )
    rule_set = load_rules({"r.yaml": text})  # the real templates folder: no locale has airport_wait
    assert [w for w in rule_set.warnings if "'airport_wait' in locale 'en'" in w] == [
        "r.yaml:7:15: rules.0.actions.notify: warning: no message template 'airport_wait' in locale 'en' "
        "(en/airport_wait.j2): passengers there get the generic message"
    ]


def test_check_exits_0_with_warnings_and_1_with_strict(tmp_path: Path):
    (tmp_path / "r.yaml").write_text("rules:\n  - id: r\n    kind: pickup_delay\n    when: time.hour > 24\n")
    plain = CliRunner().invoke(main, ["rules", "check", str(tmp_path)])
    strict = CliRunner().invoke(main, ["rules", "check", "--strict", str(tmp_path)])
    warning = f"{tmp_path / 'r.yaml'}:4:11: rules.0.when: warning: `time.hour > 24` can never be true"
    assert plain.exit_code == 0 and warning in plain.output and "ok: 1 rules" in plain.output
    assert strict.exit_code == 1 and "rule set refused: 1 warning(s) with --strict" in strict.output


def test_an_unquoted_false_is_refused_with_the_way_to_write_it():
    from rules.loader import RuleError

    with pytest.raises(RuleError) as caught:
        load_rules({"r.yaml": "rules:\n  - id: a\n    kind: pickup_delay\n    when: false\n"}, TEMPLATES)
    assert caught.value.problems == [
        "r.yaml:4:11: rules.0.when: wrong type: expected text, got false (a condition is text: write 'false' in quotes)"
    ]
