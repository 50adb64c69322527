"""`tripwatch up` keeps its children running: kill -9 one and it comes back while the rest serve.

The bookkeeping (back-off, crash loop) is tested with plain calls; the rest runs a real
`tripwatch up` with its own ports and data folder and kills its real children.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis as redis_sync
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from core import names
from core.ports import free_port
from core.processes import describe_exit, spawn
from core.settings import BUILTIN_RULES_DIR, Settings
from monitor.topics import ensure_topics
from tests.helpers import now_ms, wait_until
from tests.tripwatch.test_up import alive, healthy
from tripwatch.children import Child, Supervisor
from tripwatch.embedded import broker_service
from tripwatch.restarts import RestartBook, RestartPolicy, backoff_s, is_crash_loop

# Starts its own services or tripwatch processes.
pytestmark = pytest.mark.service

POLICY = RestartPolicy()
PARTITIONS = 8  # the default, which the broker's own auto-created count (4) is not


# --- the bookkeeping, without processes ---------------------------------------------------------


def test_backoff_doubles_from_half_a_second_up_to_ten():
    assert [backoff_s(n, POLICY) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 10, 10]
    assert backoff_s(10_000, POLICY) == 10


def test_quick_deaths_back_off_longer_each_time_then_count_as_a_crash_loop():
    book = RestartBook(POLICY)
    delays, started = [], 0.0
    for _ in range(5):
        died = started + 1
        delays.append(book.on_death(started, died))
        started = died + delays[-1]
    assert delays == [0.5, 1, 2, 4, 8]
    assert book.on_death(started, started + 1) is None  # a 6th death within 2 minutes


def test_a_child_that_ran_stably_starts_again_from_the_first_backoff():
    book = RestartBook(POLICY)
    for at in (1.0, 3.0, 6.0):
        book.on_death(at - 1, at)
    assert book.on_death(100.0, 100.0 + POLICY.stable_after_s) == 0.5


def test_restarts_older_than_the_window_do_not_count():
    times = [0.0, 1.0, 2.0, 3.0, 4.0]
    assert is_crash_loop(times, 10.0, POLICY)
    assert not is_crash_loop(times, 0.5 + POLICY.crash_loop_window_s, POLICY)  # only 4 left in it
    book = RestartBook(POLICY, restarted_at=times)
    assert book.on_death(150.0, 200.0) == 0.5 and book.restarted_at == [200.0]


def test_exits_are_described_by_code_or_signal():
    assert describe_exit(1) == "exited with code 1"
    assert describe_exit(-9) == "was killed by SIGKILL"


# --- the supervisor over small real processes -----------------------------------------------------

FAST = RestartPolicy(first_backoff_s=0.01, max_backoff_s=0.05, crash_loop_restarts=3)


def python_child(name: str, code: str, **roles: bool) -> Child:
    return Child(name, lambda: spawn([sys.executable, "-c", code]), book=RestartBook(FAST), **roles)


def watch_until(supervisor: Supervisor, check, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met"
        supervisor.check(time.monotonic())
        time.sleep(0.02)


def test_a_child_that_keeps_dying_makes_watch_give_up_naming_it(caplog: pytest.LogCaptureFixture):
    supervisor = Supervisor(threading.Event())
    supervisor.start(python_child("flaky", "raise SystemExit(3)"))
    steady = supervisor.start(python_child("steady", "import time; time.sleep(60)"))
    try:
        assert supervisor.watch() == 1
        assert steady.process is not None and steady.process.poll() is None  # served meanwhile
    finally:
        supervisor.stop_all()
    restarts = [r.getMessage() for r in caplog.records if "; restart" in r.getMessage()]
    assert len(restarts) == 3 and all("exited with code 3; restart" in line for line in restarts)
    assert any("flaky crash-loops" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


def test_a_one_shot_that_finishes_is_not_restarted_but_one_that_fails_is():
    supervisor = Supervisor(threading.Event())
    done = supervisor.start(python_child("replay", "pass", one_shot=True))
    failed = supervisor.start(python_child("replay-2", "raise SystemExit(1)", one_shot=True))
    try:
        watch_until(supervisor, lambda: done.finished and failed.book.total >= 1)
        assert done.process is None and done.book.total == 0
    finally:
        supervisor.stop_all()


def test_broker_users_are_stopped_before_the_broker_restarts_and_started_after_its_topics():
    seen: list[tuple[str, bool]] = []

    def broker_back() -> None:
        seen.append(("topics created; producer running", producer.process is not None))

    supervisor = Supervisor(threading.Event(), on_broker_back=broker_back)
    broker = supervisor.start(python_child("broker", "import time; time.sleep(60)", is_broker=True))
    producer = supervisor.start(python_child("producer", "import time; time.sleep(60)", needs_broker=True))
    first_producer = producer.process
    try:
        broker.process.kill()
        broker.process.wait()
        supervisor.check(time.monotonic())  # the death is seen: the producer is held at once
        assert producer.held and first_producer.poll() is not None
        watch_until(supervisor, lambda: producer.process is not None)
        assert seen == [("topics created; producer running", False)]
        assert broker.process.poll() is None and not supervisor.broker_lost_data
    finally:
        supervisor.stop_all()


# --- a real `tripwatch up` ----------------------------------------------------------------------


class Up:
    """A running `tripwatch up` and what it printed."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env, self.log_path = env, folder / "up.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tripwatch.cli", "up"], env=env, stdout=log, stderr=log
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def child(self, marker: str) -> int | None:
        """The pid of the live direct child whose command line holds `marker`."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid and marker in command:
                return int(entry.name) if alive(int(entry.name)) else None
        return None

    def port(self, name: str) -> int:
        return int(self.env[f"TRIPWATCH_{name}_PORT"])

    def kill_and_await_restart(self, marker: str, timeout_s: float = 60) -> int:
        """kill -9 the child; return the pid of the one `tripwatch up` starts in its place."""
        old = wait_until(lambda: self.child(marker), timeout_s=30)
        os.kill(old, signal.SIGKILL)
        new = wait_until(lambda: (pid := self.child(marker)) and pid != old and pid, timeout_s=timeout_s)
        assert self.process.poll() is None, self.log()
        return new

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)


WORKER, OUTREACH = "tripwatch.cli worker", "tripwatch.cli outreach"
BROKER, REDIS = "tansu", "valkey-server"


def up_environment(folder: Path) -> dict[str, str]:
    """Free ports and a data folder of its own, as in tests/tripwatch/test_up.py."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIPWATCH_")}
    ports = ("EMBEDDED_KAFKA", "EMBEDDED_REDIS", "DASHBOARD", "OUTREACH", "SANDBOX")
    return (
        env
        | {f"TRIPWATCH_{name}_PORT": str(free_port()) for name in ports}
        | {
            "TRIPWATCH_DATA_DIR": str(folder / "data"),
            "TRIPWATCH_SESSION_TIMEOUT_S": "6",
        }
    )


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """One `tripwatch up` for the kill tests of this module (each leaves it whole again)."""
    folder = tmp_path_factory.mktemp("up")
    env = up_environment(folder)
    running = Up(env, folder)
    try:
        wait_until(lambda: healthy(env) or running.process.poll() is not None, timeout_s=60)
        assert running.process.poll() is None, running.log()
        wait_until(lambda: "Worker]: Ready" in running.log(), timeout_s=60)
        yield running
    finally:
        code = running.stop()
    assert code == 0, running.log()


@pytest.mark.timeout(90)
def test_a_killed_worker_is_restarted_and_the_board_keeps_serving(up: Up):
    new = up.kill_and_await_restart(WORKER)
    assert wait_until(lambda: healthy(up.env), timeout_s=20)  # its /healthz re-checks every 2 s
    assert alive(new) and up.child(OUTREACH) and up.child(BROKER)
    restart_lines = [line for line in up.log().splitlines() if "was killed by SIGKILL; restart" in line]
    assert len(restart_lines) == 1 and "worker (pid" in restart_lines[0], up.log()


@pytest.mark.timeout(90)
def test_a_killed_outreach_is_restarted(up: Up):
    new = up.kill_and_await_restart(OUTREACH)
    assert alive(new) and wait_until(lambda: healthy(up.env), timeout_s=20)


@pytest.mark.timeout(90)
def test_a_killed_redis_comes_back_on_its_port_with_its_data(up: Up):
    redis = redis_sync.Redis(port=up.port("EMBEDDED_REDIS"), socket_timeout=2)
    key, value = f"test:survives:{uuid.uuid4().hex}", b"written before the kill"
    redis.set(key, value)
    redis.execute_command("WAITAOF", 1, 0, 5000)  # on disk now, not within the next second
    up.kill_and_await_restart(REDIS)
    assert wait_until(lambda: _get(redis, key), timeout_s=30) == value
    assert wait_until(lambda: healthy(up.env), timeout_s=20)  # its /healthz re-checks every 2 s


@pytest.mark.timeout(120)
def test_a_killed_broker_comes_back_with_its_topics_and_detection_goes_on(up: Up):
    up.kill_and_await_restart(BROKER)
    # looked at once `up` says the topics are back: a look before could auto-create them
    wait_until(lambda: "The embedded broker was restarted" in up.log(), timeout_s=30)
    bootstrap = f"127.0.0.1:{up.port('EMBEDDED_KAFKA')}"
    counts = asyncio.run(_partition_counts(bootstrap))
    assert counts == dict.fromkeys([*names.INPUT_TOPICS, names.INCIDENTS], PARTITIONS)
    order_id = f"sos-after-broker-{uuid.uuid4().hex[:8]}"
    asyncio.run(_send_sos(bootstrap, order_id))
    redis = redis_sync.Redis(port=up.port("EMBEDDED_REDIS"), socket_timeout=2)
    incident = wait_until(lambda: _get(redis, f"{names.INCIDENT}{order_id}:sos"), timeout_s=60)
    assert orjson.loads(incident)["status"] == "open"
    assert up.child(WORKER) and up.child(OUTREACH)
    assert wait_until(lambda: healthy(up.env), timeout_s=20)


@pytest.mark.timeout(150)
def test_a_crash_looping_worker_stops_everything_and_names_it(tmp_path: Path):
    """The rule files break after `up` started: every new worker refuses them and exits."""
    rules = tmp_path / "rules"
    shutil.copytree(BUILTIN_RULES_DIR, rules)
    env = up_environment(tmp_path) | {"TRIPWATCH_RULES_DIR": str(rules)}
    running = Up(env, tmp_path)
    try:
        wait_until(lambda: running.child(WORKER) and healthy(env), timeout_s=60)
        for rule_file in rules.rglob("*.yaml"):
            rule_file.write_text("rules: [unclosed\n")
        os.kill(running.child(WORKER), signal.SIGKILL)
        code = running.process.wait(120)
    finally:
        running.stop()
    last_lines = running.log().strip().splitlines()[-30:]
    assert code == 1, running.log()
    assert any("worker crash-loops: stopping everything" in line for line in last_lines), running.log()
    assert not healthy(env)


def _get(redis: redis_sync.Redis, key: str) -> bytes | None:
    try:
        return redis.get(key)
    except redis_sync.RedisError:
        return None


async def _partition_counts(bootstrap: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = await admin.describe_topics([*names.INPUT_TOPICS, names.INCIDENTS])
    finally:
        await admin.close()
    return {topic["topic"]: len(topic["partitions"]) for topic in topics}


async def _send_sos(bootstrap: str, order_id: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        event = {"event_id": f"{order_id}-sos", "type": "sos.pressed", "order_id": order_id,
                 "ts": now_ms(), "source": "passenger"}  # fmt: skip
        await producer.send_and_wait(names.SAFETY_SIGNALS, orjson.dumps(event), key=order_id.encode())
    finally:
        await producer.stop()


async def test_ensure_topics_names_a_topic_the_broker_created_with_its_own_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    with broker_service("127.0.0.1", free_port(), tmp_path) as broker:
        bootstrap = f"127.0.0.1:{broker.port}"
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:  # a producer first: the broker auto-creates the topic with its own count
            await producer.send_and_wait(names.SAFETY_SIGNALS, b"{}", key=b"k")
        finally:
            await producer.stop()
        settings = Settings(kafka_url=f"kafka://{bootstrap}", redis_url="redis://127.0.0.1:1/0", partitions=8)
        problems = await ensure_topics(settings)
    assert len(problems) == 1
    assert problems[0].startswith("topic safety-signals has 4 partitions, not the configured 8")
    assert problems[0] in [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
