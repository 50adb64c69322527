"""`tripwatch up`: start the embedded services (unless configured away), the worker, outreach
and the board; restart any of them that dies (tripwatch/children.py); stop them all, in reverse
order, on Ctrl-C or SIGTERM or when one crash-loops, leaving no process behind."""

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
from pathlib import Path

import redis.asyncio as aioredis

from core.ports import port_is_open
from core.processes import spawn, stop_process
from core.settings import ENV_PREFIX, Settings
from dashboard.users import UserStore
from monitor.topics import ensure_topics
from notifiers.sandbox import sandbox_settings
from rules.loader import RuleSet, load_rule_dir
from rules.reload import publish_rule_set
from tripwatch.broker_watch import watch_in_thread
from tripwatch.children import Child, Supervisor
from tripwatch.embedded import ServiceError, broker_service, redis_service

log = logging.getLogger(__name__)
DEMO_USER = "demo"


def run_up(settings: Settings, scenario: Path | None, speed: float, demo: bool = False) -> int:
    rules = load_rule_dir(settings.rules_dir)  # a broken rule set refuses to start, with its errors
    stop = _stop_on_signals()
    supervisor = Supervisor(stop, on_broker_back=lambda: _broker_back(settings))
    try:
        children_env, broker = _start_embedded(settings, supervisor)
        demo_password = asyncio.run(_prepare(settings, rules, demo))
        if broker is not None and settings.embedded_batch_warn:
            watch_in_thread(settings, stop, lambda: broker.process.pid if broker.process else None)
        if demo and not settings.twilio_account_sid and not settings.fcm_project:
            children_env |= _start_sandbox(settings, supervisor, children_env)
        supervisor.start(_cli_child("worker", ["worker"], children_env, needs_broker=True))
        board = supervisor.start(_cli_child("dashboard", ["dashboard"], children_env))
        supervisor.start(_cli_child("outreach", ["outreach"], children_env, needs_broker=True))
        _wait_for_board(settings, board, stop)
        announce(
            f"Tripwatch is up: the board is at http://{settings.dashboard_host}:{settings.dashboard_port}"
        )
        if demo and ENV_PREFIX + "FCM_PROJECT" in children_env:
            announce(
                f"What passengers receive (demo stand-in for the phone network): {_sandbox_url(settings)}"
            )
        if demo_password:
            announce(f"Sign in to the board as {DEMO_USER!r} with the password {demo_password!r}")
        announce("Ctrl-C stops everything.")
        if scenario is not None:
            args = ["replay", str(scenario), "--speed", str(speed)]
            supervisor.start(_cli_child("replay", args, children_env, one_shot=True, needs_broker=True))
        return supervisor.watch()
    finally:
        supervisor.stop_all()


def _broker_back(settings: Settings) -> None:
    """The restarted embedded broker has nothing: topics first, then say what was lost."""
    asyncio.run(ensure_topics(settings))
    announce(
        "The embedded broker was restarted. It keeps everything in memory, so the events in flight, "
        "the consumer offsets and the trips' state (the trips changelog) are lost; incidents, cases "
        "and the board's data are in Redis and kept. Topics recreated with "
        f"{settings.partitions} partitions; restarting the worker and outreach."
    )


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


def _start_sandbox(settings: Settings, supervisor: Supervisor, env: dict[str, str]) -> dict[str, str]:
    """The demo has no phone network: outreach delivers to a local stand-in that speaks the
    providers' formats (notifiers/sandbox.py). Returns the settings that point at it."""
    if port_is_open(settings.embedded_host, settings.sandbox_port):
        raise ServiceError(
            f"sandbox: port {settings.embedded_host}:{settings.sandbox_port} is already taken; "
            "choose another with TRIPWATCH_SANDBOX_PORT"
        )
    listening = (settings.embedded_host, settings.sandbox_port)
    supervisor.start(_cli_child("sandbox", ["sandbox"], env, listening=listening))
    values = sandbox_settings(_sandbox_url(settings))
    return {ENV_PREFIX + name.upper(): value for name, value in values.items()}


def announce(line: str) -> None:
    """A line for the person who ran `tripwatch up` (not a log line)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _start_embedded(settings: Settings, supervisor: Supervisor) -> tuple[dict[str, str], Child | None]:
    """Start what is embedded; the children get explicit URLs for broker and Redis. Returns
    their environment and the embedded broker's child, if one was started."""
    env = dict(os.environ) | settings.as_environment()
    data_dir = settings.data_dir
    broker_child = None
    if settings.embedded_kafka:
        broker = broker_service(settings.embedded_host, settings.embedded_kafka_port, data_dir / "logs")
        broker_child = supervisor.start(Child("broker", broker.start, is_broker=True, stop_timeout_s=10))
        env[ENV_PREFIX + "KAFKA_URL"] = "kafka://" + settings.kafka_bootstrap
    if settings.embedded_redis:
        # a restart runs the same command: same port, same append-only data folder
        redis = redis_service(settings.embedded_host, settings.embedded_redis_port, data_dir / "redis")
        supervisor.start(Child("redis", redis.start, stop_timeout_s=10))
        env[ENV_PREFIX + "REDIS_URL"] = settings.redis_dsn
    return env, broker_child


def _cli_child(
    name: str,
    args: list[str],
    env: dict[str, str],
    listening: tuple[str, int] | None = None,
    **roles: bool,
) -> Child:
    """A `tripwatch ARGS` child; with `listening`, started once it listens there."""
    command = [sys.executable, "-m", "tripwatch.cli", *args]

    def start() -> subprocess.Popen[bytes]:
        process = spawn(command, env)
        if listening is not None:
            _wait_listening(name, process, *listening)
        return process

    return Child(name, start, **roles)


def _wait_listening(name: str, process: subprocess.Popen[bytes], host: str, port: int) -> None:
    deadline = time.monotonic() + 30
    while not port_is_open(host, port):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(name, process)
            raise ServiceError(f"the {name} did not come up on {host}:{port} within 30 s")
        time.sleep(0.1)


def _wait_for_board(settings: Settings, board: Child, stop: threading.Event) -> None:
    deadline = time.monotonic() + 60
    while not port_is_open(settings.dashboard_host, settings.dashboard_port):
        if board.process is None or board.process.poll() is not None:
            code = board.process.returncode if board.process else None
            raise ServiceError(f"the dashboard exited with code {code}; see its output above")
        if time.monotonic() > deadline or stop.is_set():
            raise ServiceError("the dashboard did not come up within 60 s")
        time.sleep(0.1)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def _request_stop(signum: int, _frame: object) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    return stop
