"""Embedded services: clear one-line errors when a service cannot run or does not come up."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from core.ports import free_port
from tripwatch.embedded import EmbeddedService, ServiceError, broker_service, redis_service


def service(tmp_path: Path, command: list[str], port: int | None = None) -> EmbeddedService:
    return EmbeddedService("broker", command, "127.0.0.1", port or free_port(), tmp_path / "broker.log")


def test_binary_that_cannot_run(tmp_path: Path) -> None:
    not_executable = tmp_path / "tansu"
    not_executable.write_text("not a program")
    with pytest.raises(ServiceError, match=r"^broker: cannot run .*tansu \(Permission denied\); reinstall"):
        service(tmp_path, [str(not_executable)]).start()


def test_server_that_exits_at_start(tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match=r"^broker exited with code 3 at start; its log is .*broker.log"):
        service(tmp_path, [sys.executable, "-c", "import sys; sys.exit(3)"]).start()


def test_server_that_never_answers(tmp_path: Path) -> None:
    sleeper = service(tmp_path, [sys.executable, "-c", "import time; time.sleep(30)"])
    with pytest.raises(ServiceError, match=r"^broker did not answer within 1 s; see .*broker.log"):
        sleeper.start(timeout_s=1.0)
    assert sleeper.process is not None and sleeper.process.poll() is not None  # not left behind


def test_port_already_taken(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(
            ServiceError, match=f"port 127.0.0.1:{port} is already taken.*EMBEDDED_KAFKA_PORT"
        ):
            service(tmp_path, ["true"], port).start()


@pytest.mark.service
def test_real_services_start_and_stop(tmp_path: Path) -> None:
    broker = broker_service("127.0.0.1", free_port(), tmp_path)
    redis = redis_service("127.0.0.1", free_port(), tmp_path / "redis")
    for embedded in (broker, redis):
        embedded.start()
        with socket.create_connection(("127.0.0.1", embedded.port), timeout=2):
            pass
        embedded.stop()
        assert embedded.process is not None and embedded.process.poll() is not None
