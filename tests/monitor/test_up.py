"""`tripwatch up`: the embedded default starts, shows the demo incident, and stops leaving nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from monitor.embedded import free_port, port_is_open
from tests.helpers import wait_until


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def up_environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIPWATCH_")}
    return env | {
        "TRIPWATCH_EMBEDDED_KAFKA_PORT": str(free_port()),
        "TRIPWATCH_EMBEDDED_REDIS_PORT": str(free_port()),
        "TRIPWATCH_DASHBOARD_PORT": str(free_port()),
        "TRIPWATCH_DATA_DIR": str(tmp_path / "data"),
        "TRIPWATCH_SESSION_TIMEOUT_S": "6",
    }


def board(env: dict[str, str], path: str = "/") -> str:
    url = f"http://127.0.0.1:{env['TRIPWATCH_DASHBOARD_PORT']}{path}"
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.read().decode()


@pytest.mark.timeout(150)
def test_up_shows_the_demo_incident_then_stops_leaving_no_process(up_environment: dict[str, str], tmp_path: Path):
    log = (tmp_path / "up.log").open("wb")
    up = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "up", "--demo"], env=up_environment, stdout=log, stderr=log
    )
    try:
        page = wait_until(lambda: _board_mentions(up_environment, "demo-1"), timeout_s=60)
        assert "pickup_delay" in page
        assert (tmp_path / "data" / "redis" / "appendonlydir").is_dir()  # Redis persists
        children = descendants(up.pid)
        assert len(children) >= 4  # broker, redis, worker, dashboard (and the replay)
    finally:
        up.send_signal(signal.SIGTERM)
        code = up.wait(60)
    assert code == 0, (tmp_path / "up.log").read_text()
    time.sleep(0.2)
    assert [pid for pid in children if alive(pid)] == []
    for name in ("TRIPWATCH_EMBEDDED_KAFKA_PORT", "TRIPWATCH_EMBEDDED_REDIS_PORT", "TRIPWATCH_DASHBOARD_PORT"):
        assert not port_is_open("127.0.0.1", int(up_environment[name]))


def _board_mentions(env: dict[str, str], text: str, path: str = "/") -> str | None:
    try:
        page = board(env, path)
    except OSError:
        return None
    return page if text in page else None


def test_port_taken_gives_a_one_line_error(up_environment: dict[str, str]):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(up_environment["TRIPWATCH_EMBEDDED_KAFKA_PORT"])))
        squatter.listen()
        result = subprocess.run(
            [sys.executable, "-m", "monitor.cli", "up"], env=up_environment, capture_output=True, timeout=60
        )
    assert result.returncode == 1
    error_lines = [line for line in result.stderr.decode().splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1
    assert "is already taken" in error_lines[0] and "TRIPWATCH_EMBEDDED_KAFKA_PORT" in error_lines[0]


def test_unknown_setting_gives_a_one_line_error(up_environment: dict[str, str]):
    env = up_environment | {"TRIPWATCH_DASHBORD_PORT": "9000"}
    result = subprocess.run([sys.executable, "-m", "monitor.cli", "up"], env=env, capture_output=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.decode().strip() == (
        "Error: bad setting: TRIPWATCH_DASHBORD_PORT: unknown setting (did you mean TRIPWATCH_DASHBOARD_PORT?)"
    )


@pytest.mark.timeout(90)
def test_up_uses_configured_services_and_starts_none(up_environment: dict[str, str], settings, tmp_path: Path):
    env = up_environment | {
        "TRIPWATCH_KAFKA_URL": settings.kafka_url,
        "TRIPWATCH_REDIS_URL": settings.redis_url,
        "TRIPWATCH_APP_ID": "tripwatch-up-configured",
    }
    log = (tmp_path / "up.log").open("wb")
    up = subprocess.Popen([sys.executable, "-m", "monitor.cli", "up"], env=env, stdout=log, stderr=log)
    try:
        wait_until(lambda: _board_mentions(env, "ok", path="/healthz"), timeout_s=45)
        commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in descendants(up.pid)]
        assert commands and all(b"monitor.cli" in command for command in commands), commands
        assert not port_is_open("127.0.0.1", int(env["TRIPWATCH_EMBEDDED_KAFKA_PORT"]))
        assert not port_is_open("127.0.0.1", int(env["TRIPWATCH_EMBEDDED_REDIS_PORT"]))
    finally:
        up.send_signal(signal.SIGTERM)
        assert up.wait(60) == 0, (tmp_path / "up.log").read_text()
