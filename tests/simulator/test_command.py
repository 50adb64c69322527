"""`tripwatch simulate` on the command line: options, config file, errors that name the setting."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from click.testing import CliRunner

from tripwatch.cli import main


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["simulate", *args])
    return result.exit_code, result.output


def test_writes_the_same_file_for_the_same_seed(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    code, output = run("--trips", "30", "--seed", "4", "--rates", "sos=0.5", "-o", str(a))
    assert code == 0, output
    assert "30 trips" in output and "15 labelled incidents" in output
    assert run("--trips", "30", "--seed", "4", "--rates", "sos=0.5", "-o", str(b))[0] == 0
    assert a.read_bytes() == b.read_bytes()
    header = orjson.loads(a.read_bytes().splitlines()[0])["scenario"]
    assert header["cases"]["sos"] == 15 and header["config"]["seed"] == 4


def test_options_override_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "city.json"
    config.write_text(json.dumps({"trips": 12, "seed": 9, "rates": {"early_end": 0.5}}))
    out = tmp_path / "x.jsonl"
    code, output = run("--sim-config", str(config), "--trips", "20", "-o", str(out))
    assert code == 0, output
    header = orjson.loads(out.read_bytes().splitlines()[0])["scenario"]
    assert header["config"]["trips"] == 20 and header["config"]["seed"] == 9
    assert header["cases"] == {"early_end": 10, "normal": 10}


def test_bad_settings_are_refused_with_their_name(tmp_path: Path) -> None:
    code, output = run("--rates", "sos=2", "-o", str(tmp_path / "x.jsonl"))
    assert code != 0 and "rates.sos: must be between 0 and 1" in output
    code, output = run("--rates", "crashh=0.1", "-o", str(tmp_path / "x.jsonl"))
    assert code != 0 and "rates.crashh: unknown case" in output
    code, output = run("--trips", "3")
    assert code != 0 and "--output" in output
