"""The built-in rule pack: one rule per catalogue kind, valid, and every threshold stated in it."""

from __future__ import annotations

from pathlib import Path

import yaml

from monitor.detectors import DETECTORS
from monitor.detectors.route_deviation import zone_of
from rules.loader import load_rule_dir
from rules.params import DETECTOR_PARAMS

PACK = Path(__file__).resolve().parents[2] / "rules" / "pack"
CATALOGUE = {
    "pickup_delay": "medium",
    "trip_delay": "low",
    "driver_cancellation": "high",
    "system_cancellation": "high",
    "route_deviation": "medium",
    "payment_failure": "medium",
    "double_charge": "high",
    "sos": "critical",
    "crash_suspected": "critical",
    "long_stop": "critical",
    "stop_checkin": "high",
    "signal_lost": "high",
    "early_end": "high",
}


def test_pack_loads_with_one_rule_per_kind_at_the_catalogue_severity():
    rules = load_rule_dir(PACK)
    assert {r.rule.kind: r.rule.severity for r in rules.rules} == CATALOGUE
    assert len(rules.rules) == len(CATALOGUE)
    for rule in rules.rules:
        assert rule.rule.detector in DETECTORS and rule.rule.detector in DETECTOR_PARAMS


# Overrides of the set's shared pieces, left out of the pack on purpose (cities.yaml holds the map).
OVERRIDES = {"city_timezones"}


def test_every_detector_parameter_is_stated_in_the_pack_not_left_to_code():
    for path in sorted(PACK.glob("*.yaml")):
        for rule in yaml.safe_load(path.read_text()).get("rules", []):
            model = DETECTOR_PARAMS[rule.get("detector") or rule["kind"]]
            assert set(rule.get("params", {})) == set(model.model_fields) - OVERRIDES, path.name


def test_one_file_per_kind_and_one_city_map():
    assert {path.stem for path in PACK.glob("*.yaml")} == {*CATALOGUE, "cities"}


def test_route_deviation_reads_night_hours_in_the_zone_of_the_city_map():
    rule = load_rule_dir(PACK).for_detector("route_deviation")[0]
    assert zone_of("berlin", rule) == "Europe/Berlin"
    assert zone_of("new_york", rule) == "America/New_York"
    assert zone_of("atlantis", rule) == "UTC"
