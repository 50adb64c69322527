"""docs/detection.md's worked example, as written: one module and one YAML file add a kind."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import rules.loader
from core.incidents import BUILTIN_KINDS
from core.kinds import Kind, read_pack
from monitor.detectors import DETECTORS
from monitor.processor import TripProcessor
from rules.fields import CONTEXT, UNKNOWN
from rules.loader import load_rule_dir
from rules.params import DETECTOR_PARAMS
from tests.monitor.trips import PACK, Trip, on_route

DOC = Path(__file__).resolve().parents[2] / "docs" / "detection.md"


def example(language: str) -> str:
    section = DOC.read_text().split("## Adding a detection kind", 1)[1]
    [block] = re.findall(rf"```{language}\n(.*?)```", section, re.S)
    return block


@pytest.fixture
def speeding_module(tmp_path: Path) -> Iterator[None]:
    """The example module, imported from a file of its own as the package would import it;
    the registrations are taken back afterwards."""
    path = tmp_path / "speeding.py"
    path.write_text(example("python"))
    spec = importlib.util.spec_from_file_location("speeding_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield
    finally:
        sys.modules.pop(spec.name, None)
        DETECTORS.pop("speeding", None)
        DETECTOR_PARAMS.pop("speeding", None)
        CONTEXT["event"].pop("speed_kmh", None)
        UNKNOWN["event"].pop("speed_kmh", None)


@pytest.fixture
def pack_with_speeding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The built-in pack plus the example's file: its kind is then one of the catalogue."""
    folder = tmp_path / "pack"
    shutil.copytree(PACK, folder)
    (folder / "speeding.yaml").write_text(example("yaml"))
    kinds = read_pack(folder)
    monkeypatch.setattr(rules.loader, "BUILTIN_KINDS", tuple(kinds))  # as core.kinds would read it
    return folder


def test_the_example_file_makes_its_kind_one_of_the_catalogue(pack_with_speeding: Path):
    assert read_pack(pack_with_speeding)["speeding"] == Kind("speeding", "medium", safety=False)
    assert "speeding" not in BUILTIN_KINDS  # only the copy of the pack has it


def test_without_the_module_the_file_is_refused(pack_with_speeding: Path):
    with pytest.raises(rules.loader.RuleError, match="unknown detector 'speeding'"):
        load_rule_dir(pack_with_speeding)


def test_one_module_and_one_file_detect_and_clear_the_new_kind(speeding_module, pack_with_speeding):
    rule_set = load_rule_dir(pack_with_speeding)
    assert rule_set.by_id("speeding").params.max_speed_kmh == 130
    trip = Trip(processor=TripProcessor(rule_set))
    trip.begin()
    assert trip.ping(20, on_route(0.1), speed=120) == []
    [opened] = [c for c in trip.ping(30, on_route(0.2), speed=150) if c.kind == "speeding"]
    assert (opened.action, opened.severity, opened.details["speed_kmh"]) == ("open", "medium", 150)
    trip.ping(40, on_route(0.3), speed=90)
    assert trip.resolved("speeding")[0].reason == "back under the limit"
    faster = Trip(processor=TripProcessor(rule_set), order_id="o-2")
    faster.begin()
    [opened] = [c for c in faster.ping(20, on_route(0.1), speed=170) if c.kind == "speeding"]
    assert opened.severity == "high"  # the YAML's escalation, on the module's event field
