"""`tripwatch rules check` and `tripwatch rules test` (with and without --against)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tripwatch.cli import main

HERE = Path(__file__).resolve().parent
BASELINE, CHANGE = HERE / "packs" / "baseline", HERE / "packs" / "change"
SCENARIO = HERE / "scenarios" / "grace_change.jsonl"
START = "2026-01-10T12:00:00+0000"


def tripwatch(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_check_passes_a_good_set_and_fails_a_bad_one_with_its_line():
    good = tripwatch("rules", "check", CHANGE)
    assert good.exit_code == 0 and good.output.startswith("ok: 1 rules, rule set version ")
    bad_dir = HERE / "fixtures" / "unknown_macro"
    bad = tripwatch("rules", "check", bad_dir)
    assert bad.exit_code == 1
    assert f"{bad_dir / 'rules.yaml'}:6:36: rules.0.when: unknown macro or list 'nigth'" in bad.output
    assert "rule set refused: 1 problem(s)" in bad.output


def test_scenario_results_per_rule_against_expectations():
    passing = tripwatch("rules", "test", CHANGE, "--scenario", SCENARIO, "--start", START)
    assert passing.exit_code == 0, passing.output
    lines = passing.output.splitlines()
    assert lines[0].endswith("2 incident(s) raised, 2 expected")
    assert lines[1] == "  rule pickup-delay (pickup_delay):"
    assert lines[2].startswith("    ✓ pickup_delay on late at 90 s, high, by rule pickup-delay: ")
    assert lines[3].startswith("    ✓ pickup_delay on quick at 90 s, high, by rule pickup-delay: ")

    failing = tripwatch("rules", "test", BASELINE, "--scenario", SCENARIO, "--start", START)
    assert failing.exit_code == 1
    assert "    + pickup_delay on hh at 180 s, medium, by rule pickup-delay: " in failing.output
    assert failing.output.endswith("    ✗ pickup_delay on quick: expected at 90 s, not raised\n")


def test_against_shows_what_a_change_adds_and_removes():
    result = tripwatch(
        "rules", "test", CHANGE, "--against", BASELINE, "--scenario", SCENARIO, "--start", START
    )
    assert result.exit_code == 0, result.output
    header, *diff = result.output.splitlines()
    assert header.endswith(": 1 added, 1 removed, 1 changed")
    assert [line.split(":")[0] for line in diff] == [
        "  + pickup_delay on quick at 90 s, high, by rule pickup-delay",
        "  - pickup_delay on hh at 180 s, medium, by rule pickup-delay",
        "  ~ pickup_delay on late",
    ]
    assert diff[2] == "  ~ pickup_delay on late: rule pickup-delay medium -> rule pickup-delay high"


def test_time_conditions_follow_the_scenario_start(tmp_path: Path):
    night_only = tmp_path / "night"
    night_only.mkdir()
    (night_only / "r.yaml").write_text(
        "timezones: {berlin: Europe/Berlin}\n"
        "rules:\n  - id: pickup-delay\n    kind: pickup_delay\n    params: {grace_s: 30}\n"
        "    when: time.hour >= 22 || time.hour < 5\n"
    )
    day = tripwatch(
        "rules", "test", night_only, "--scenario", SCENARIO, "--start", "2026-01-10T12:00:00+0100"
    )
    night = tripwatch(
        "rules", "test", night_only, "--scenario", SCENARIO, "--start", "2026-01-10T23:00:00+0100"
    )
    assert "0 incident(s) raised" in day.output.splitlines()[0]
    assert "3 incident(s) raised" in night.output.splitlines()[0]


def test_publish_status_and_silences_from_the_command_line(private_redis, settings):
    """Against Redis database 7 (emptied by `private_redis`), as an operator would run them."""
    env = {"TRIPWATCH_REDIS_URL": settings.redis_dsn.rsplit("/", 1)[0] + "/7"}

    def run(*args: str):
        return CliRunner().invoke(main, [str(a) for a in args], env=env)

    published = run("rules", "publish", CHANGE, "--by", "anna")
    assert published.exit_code == 0, published.output
    version = published.output.split()[3]
    assert run("rules", "status").output.startswith(f"published: {version}\n")
    refused = run("rules", "publish", HERE / "fixtures" / "unknown_kind")
    assert refused.exit_code == 1 and run("rules", "status").output.startswith(f"published: {version}\n")

    added = run("rules", "silence", "add", "--city", "berlin", "--daily", "02:00-05:00",
                "--timezone", "Europe/Berlin", "--for", "7d", "--reason", "night")  # fmt: skip
    assert added.exit_code == 0, added.output
    silence_id = added.output.split()[1]
    listed = run("rules", "silence", "list").output
    assert listed.startswith(f"{silence_id}: every kind in berlin, daily 02:00-05:00 Europe/Berlin, until ")
    assert listed.endswith(": night\n") and listed.count("\n") == 1
    assert run("rules", "silence", "add", "--daily", "2-5").exit_code == 1
    assert run("rules", "silence", "remove", silence_id).exit_code == 0
    assert run("rules", "silence", "list").output == ""
    assert run("rules", "silence", "remove", silence_id).exit_code == 1


def test_rules_test_fails_when_a_condition_failed_at_run_time(tmp_path: Path):
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - id: pickup-delay\n    kind: pickup_delay\n    params: {grace_s: 30}\n"
        '    when: trip.city == "berlin" && int(trip.order_id) > 5\n'
    )
    result = CliRunner().invoke(
        main, ["rules", "test", str(tmp_path), "--scenario", str(SCENARIO), "--start", START]
    )
    assert result.exit_code == 1
    assert "conditions failed at run time, taken as false: pickup-delay ×" in result.output


def test_check_refuses_a_type_error_behind_and_within_10_s_naming_the_file(tmp_path: Path):
    import time

    (tmp_path / "vip.yaml").write_text(
        "rules:\n  - id: vip-pickup\n    kind: pickup_delay\n    when: passenger.vip && trip.city > 3\n"
    )
    started = time.monotonic()
    result = tripwatch("rules", "check", tmp_path)
    assert time.monotonic() - started < 10 and result.exit_code == 1
    assert (
        f"{tmp_path / 'vip.yaml'}:4:28: rules.0.when: wrong type: `trip.city` is a string, "
        "compared with the number 3"
    ) in result.output


def test_a_misspelt_key_in_a_copy_of_a_shipped_rule_is_refused_with_the_suggestion(tmp_path: Path):
    shipped = (HERE.parents[1] / "rules" / "pack" / "pickup_delay.yaml").read_text()
    assert "\n    severity: " in shipped
    (tmp_path / "pickup_delay.yaml").write_text(shipped.replace("\n    severity: ", "\n    sevrity: ", 1))
    line = shipped.split("\n    severity: ")[0].count("\n") + 2
    result = tripwatch("rules", "check", tmp_path)
    assert result.exit_code == 1
    assert (
        f"{tmp_path / 'pickup_delay.yaml'}:{line}:5: rules.0.sevrity: unknown field 'sevrity' "
        "(did you mean 'severity'?)"
    ) in result.output


def test_check_warns_about_a_page_route_the_settings_do_not_define(monkeypatch):
    pack = HERE.parents[1] / "rules" / "pack"
    monkeypatch.delenv("TRIPWATCH_PAGE_ROUTES", raising=False)
    undefined = tripwatch("rules", "check", pack)
    assert undefined.exit_code == 0  # it loads: the page goes to level 1
    assert f"{pack / 'stop_checkin.yaml'}:" in undefined.output
    assert (
        "rule stop-checkin: actions.page.to: warning: page route 'safety' is not in TRIPWATCH_PAGE_ROUTES"
        in (undefined.output)
    )
    assert tripwatch("rules", "check", "--strict", pack).exit_code == 1
    monkeypatch.setenv("TRIPWATCH_PAGE_ROUTES", "safety=" + "f" * 32)
    defined = tripwatch("rules", "check", "--strict", pack)
    assert defined.exit_code == 0 and "page route" not in defined.output


def test_a_scenario_with_support_contacts_is_tested_like_one_without(tmp_path: Path):
    """`simulate --complaints` writes support contacts; rules never judge them (it crashed)."""
    contact = (
        '{"at": 100.0, "topic": "support-contacts", "event": {"event_id": "c-1", "type": '
        '"support.contacted", "ts": 100.0, "passenger_id": "p-late", "channel": "app", '
        '"topic": "delay", "order_id": "late"}}\n'
    )
    with_contact = tmp_path / "with_contact.jsonl"
    with_contact.write_text(SCENARIO.read_text() + contact)
    plain = tripwatch("rules", "test", CHANGE, "--scenario", SCENARIO, "--start", START)
    contacted = tripwatch("rules", "test", CHANGE, "--scenario", with_contact, "--start", START)
    assert contacted.exit_code == 0, contacted.output
    assert contacted.output.splitlines()[1:] == plain.output.splitlines()[1:]
