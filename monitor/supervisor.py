"""`tripwatch up`: start the embedded services (unless configured away), the worker and the
board; stop them all, in reverse order, on Ctrl-C or SIGTERM, leaving no process behind."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import redis.asyncio as aioredis

from dashboard.users import UserStore
from monitor.embedded import ServiceError, broker_service, port_is_open, redis_service
from monitor.settings import ENV_PREFIX, Settings
from monitor.topics import ensure_topics
from notifiers.sandbox import sandbox_settings
from rules.loader import RuleSet, load_rule_dir
from rules.reload import publish_rule_set

log = logging.getLogger(__name__)
DEMO_USER = "demo"


def run_up(settings: Settings, scenario: Path | None, speed: float, demo: bool = False) -> int:
    rules = load_rule_dir(settings.rules_dir)  # a broken rule set refuses to start, with its errors
    stop = _stop_on_signals()
    with ExitStack() as stack:
        children_env = _child_environment(settings, stack)
        demo_password = asyncio.run(_prepare(settings, rules, demo))
        if demo and not settings.twilio_account_sid and not settings.fcm_project:
            children_env |= _start_sandbox(settings, stack, children_env)
        worker = stack.enter_context(_child("worker", ["worker"], children_env, settings))
        board = stack.enter_context(_child("dashboard", ["dashboard"], children_env, settings))
        outreach = stack.enter_context(_child("outreach", ["outreach"], children_env, settings))
        _wait_for_board(settings, board, stop)
        announce(f"Tripwatch is up: the board is at http://{settings.dashboard_host}:{settings.dashboard_port}")
        if demo and ENV_PREFIX + "FCM_PROJECT" in children_env:
            announce(f"What passengers receive (demo stand-in for the phone network): {_sandbox_url(settings)}")
        if demo_password:
            announce(f"Sign in to the board as {DEMO_USER!r} with the password {demo_password!r}")
        announce("Ctrl-C stops everything.")
        if scenario is not None:
            args = ["replay", str(scenario), "--speed", str(speed)]
            stack.enter_context(_child("replay", args, children_env, settings))
        return _watch([worker, board, outreach], stop)
    return 0


async def _prepare(settings: Settings, rules: RuleSet, demo: bool) -> str | None:
    """Topics first (with our partition count); the rule set on disk becomes the one every
    worker runs; with --demo, a fresh sign-in for the board (its password is returned)."""
    await ensure_topics(settings)
    redis = aioredis.from_url(settings.redis_dsn)
    try:
        await publish_rule_set(redis, rules, by="tripwatch up")
        if demo:
            password = secrets.token_urlsafe(9)
            users = UserStore(redis)
            if await users.get(DEMO_USER) is None:
                await users.add(DEMO_USER, password, "supervisor")
            else:
                await users.set_password(DEMO_USER, password)
            return password
        return None
    finally:
        await redis.aclose()


def _sandbox_url(settings: Settings) -> str:
    return f"http://{settings.embedded_host}:{settings.sandbox_port}"


def _start_sandbox(settings: Settings, stack: ExitStack, env: dict[str, str]) -> dict[str, str]:
    """The demo has no phone network: outreach delivers to a local stand-in that speaks the
    providers' formats (notifiers/sandbox.py). Returns the settings that point at it."""
    if port_is_open(settings.embedded_host, settings.sandbox_port):
        raise ServiceError(
            f"sandbox: port {settings.embedded_host}:{settings.sandbox_port} is already taken; "
            "choose another with TRIPWATCH_SANDBOX_PORT"
        )
    stack.enter_context(_child("sandbox", ["sandbox"], env, settings))
    deadline = time.monotonic() + 30
    while not port_is_open(settings.embedded_host, settings.sandbox_port):
        if time.monotonic() > deadline:
            raise ServiceError("the demo sandbox did not come up within 30 s")
        time.sleep(0.1)
    values = sandbox_settings(_sandbox_url(settings))
    return {ENV_PREFIX + name.upper(): value for name, value in values.items()}


def announce(line: str) -> None:
    """A line for the person who ran `tripwatch up` (not a log line)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _child_environment(settings: Settings, stack: ExitStack) -> dict[str, str]:
    """Start what is embedded; the children get explicit URLs for broker and Redis."""
    env = dict(os.environ) | settings.as_environment()
    data_dir = settings.data_dir
    if settings.embedded_kafka:
        broker = broker_service(settings.embedded_host, settings.embedded_kafka_port, data_dir / "logs")
        stack.enter_context(broker)
        env[ENV_PREFIX + "KAFKA_URL"] = "kafka://" + settings.kafka_bootstrap
    if settings.embedded_redis:
        redis = redis_service(settings.embedded_host, settings.embedded_redis_port, data_dir / "redis")
        stack.enter_context(redis)
        env[ENV_PREFIX + "REDIS_URL"] = settings.redis_dsn
    return env


@contextmanager
def _child(
    name: str, args: list[str], env: dict[str, str], settings: Settings
) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "monitor.cli", *args]
    process = subprocess.Popen(command, env=env, start_new_session=True)
    log.info("started %s (pid %d)", name, process.pid)
    try:
        yield process
    finally:
        _terminate(name, process)


def _terminate(name: str, process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s: killing it", name, timeout_s)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    log.info("%s stopped", name)


def _wait_for_board(settings: Settings, board: subprocess.Popen[bytes], stop: threading.Event) -> None:
    deadline = time.monotonic() + 60
    while not port_is_open(settings.dashboard_host, settings.dashboard_port):
        if board.poll() is not None:
            raise ServiceError(f"the dashboard exited with code {board.returncode}; see its output above")
        if time.monotonic() > deadline or stop.is_set():
            raise ServiceError("the dashboard did not come up within 60 s")
        time.sleep(0.1)


def _watch(children: list[subprocess.Popen[bytes]], stop: threading.Event) -> int:
    """Block until a signal (exit 0) or until a child dies on its own (exit 1)."""
    while not stop.wait(0.2):
        for child in children:
            if child.poll() is not None:
                log.error("%s exited with code %s: stopping everything", child.args[-1], child.returncode)
                return 1
    return 0


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def _request_stop(signum: int, _frame: object) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    return stop
