"""`tripwatch up`: the embedded default starts, shows the demo incident, and stops leaving nothing."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from core.ports import free_port, port_is_open
from tests.helpers import wait_until

# Starts its own services or tripwatch processes.
pytestmark = pytest.mark.service


def command_line(pid: int) -> bytes:
    """The process's command line; empty when it has exited meanwhile."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


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
    return own_up_environment(tmp_path)


def own_up_environment(tmp_path: Path) -> dict[str, str]:
    """`tripwatch up`'s environment with ports and a data folder of its own (no TRIPWATCH_* inherited)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIPWATCH_")}
    return env | {
        "TRIPWATCH_EMBEDDED_KAFKA_PORT": str(free_port()),
        "TRIPWATCH_EMBEDDED_REDIS_PORT": str(free_port()),
        "TRIPWATCH_DASHBOARD_PORT": str(free_port()),
        "TRIPWATCH_OUTREACH_PORT": str(free_port()),
        "TRIPWATCH_SANDBOX_PORT": str(free_port()),
        "TRIPWATCH_DATA_DIR": str(tmp_path / "data"),
        "TRIPWATCH_SESSION_TIMEOUT_S": "6",
    }


def healthy(env: dict[str, str]) -> bool:
    url = f"http://127.0.0.1:{env['TRIPWATCH_DASHBOARD_PORT']}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.timeout(180)
def test_up_shows_the_demo_incident_then_stops_leaving_no_process(
    up_environment: dict[str, str], tmp_path: Path
):
    """The README's first command: a newcomer signs in with the printed password and sees
    demo-1's pickup delay on the board; Ctrl-C (SIGTERM here) leaves nothing running."""
    out_path = tmp_path / "up.out"
    with out_path.open("wb") as out, (tmp_path / "up.log").open("wb") as log:
        up = subprocess.Popen(
            [sys.executable, "-m", "tripwatch.cli", "up", "--demo"],
            env=up_environment,
            stdout=out,
            stderr=log,
        )
    try:
        sign_in = wait_until(
            lambda: re.search(r"as 'demo' with the password '([^']+)'", out_path.read_text())
        )
        board = BoardClient(int(up_environment["TRIPWATCH_DASHBOARD_PORT"]))
        board.sign_in("demo", sign_in.group(1))
        row = wait_until(lambda: board.row("demo-1", "pickup_delay"), timeout_s=60)
        assert row["status"] == "open" and row["severity"] == "medium"
        # after the group wait, Anna's phone (the demo's stand-in network) gets the facts
        inbox = f"http://127.0.0.1:{up_environment['TRIPWATCH_SANDBOX_PORT']}/"
        page = wait_until(lambda: _page_with(inbox, "B-TW 1234"), timeout_s=60)
        assert "Jonas" in page and "tok-p-anna" in page
        assert (tmp_path / "data" / "redis" / "appendonlydir").is_dir()  # Redis persists
        children = descendants(up.pid)
        assert len(children) >= 5  # broker, redis, worker, outreach, dashboard (and the replay)
    finally:
        up.send_signal(signal.SIGTERM)
        code = up.wait(60)
    assert code == 0, (tmp_path / "up.log").read_text()
    time.sleep(0.2)
    assert [pid for pid in children if alive(pid)] == []
    for name in (
        "TRIPWATCH_EMBEDDED_KAFKA_PORT",
        "TRIPWATCH_EMBEDDED_REDIS_PORT",
        "TRIPWATCH_DASHBOARD_PORT",
    ):
        assert not port_is_open("127.0.0.1", int(up_environment[name]))


def _page_with(url: str, text: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            page = response.read().decode()
    except OSError:
        return None
    return page if text in page else None


class BoardClient:
    """Signs in through the real form (CSRF token and cookies) and reads the board's snapshot."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers |= {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": f"http://127.0.0.1:{self.port}",
            }
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response

    def sign_in(self, user: str, password: str) -> None:
        page = self.request("GET", "/login").read().decode()
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"user": user, "password": password, "csrf": token})
        response = self.request("POST", "/login", form)
        assert response.status == 302, response.read()

    def row(self, order_id: str, kind: str) -> dict | None:
        try:
            snapshot = json.loads(self.request("GET", "/api/board").read())
        except OSError:
            return None
        return next((r for r in snapshot["rows"] if r["order_id"] == order_id and r["kind"] == kind), None)


def test_port_taken_gives_a_one_line_error(up_environment: dict[str, str]):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(up_environment["TRIPWATCH_EMBEDDED_KAFKA_PORT"])))
        squatter.listen()
        result = subprocess.run(
            [sys.executable, "-m", "tripwatch.cli", "up"], env=up_environment, capture_output=True, timeout=60
        )
    assert result.returncode == 1
    error_lines = [line for line in result.stderr.decode().splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1
    assert "is already taken" in error_lines[0] and "TRIPWATCH_EMBEDDED_KAFKA_PORT" in error_lines[0]


def test_unknown_setting_gives_a_one_line_error(up_environment: dict[str, str]):
    env = up_environment | {"TRIPWATCH_DASHBORD_PORT": "9000"}
    result = subprocess.run(
        [sys.executable, "-m", "tripwatch.cli", "up"], env=env, capture_output=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.decode().strip() == (
        "Error: bad setting: TRIPWATCH_DASHBORD_PORT: unknown setting (did you mean TRIPWATCH_DASHBOARD_PORT?)"
    )


@pytest.mark.timeout(90)
def test_up_uses_configured_services_and_starts_none(
    up_environment: dict[str, str], settings, tmp_path: Path
):
    env = up_environment | {
        "TRIPWATCH_KAFKA_URL": settings.kafka_url,
        "TRIPWATCH_REDIS_URL": settings.redis_url,
        "TRIPWATCH_APP_ID": "tripwatch-up-configured",
        # `up` publishes its rule set to the shared Redis: keep the session's test rules
        "TRIPWATCH_RULES_DIR": str(settings.rules_dir),
    }
    log = (tmp_path / "up.log").open("wb")
    up = subprocess.Popen([sys.executable, "-m", "tripwatch.cli", "up"], env=env, stdout=log, stderr=log)
    try:
        wait_until(lambda: healthy(env), timeout_s=45)
        commands = [command for pid in descendants(up.pid) if (command := command_line(pid))]
        assert commands and all(b"tripwatch.cli" in command for command in commands), commands
        assert not port_is_open("127.0.0.1", int(env["TRIPWATCH_EMBEDDED_KAFKA_PORT"]))
        assert not port_is_open("127.0.0.1", int(env["TRIPWATCH_EMBEDDED_REDIS_PORT"]))
    finally:
        up.send_signal(signal.SIGTERM)
        assert up.wait(60) == 0, (tmp_path / "up.log").read_text()
