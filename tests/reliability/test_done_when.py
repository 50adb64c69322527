"""The acceptance scenario of issue 11, through `tripwatch up` itself: 120 SOS presses over 60 s
(one new order each), the worker killed with SIGKILL at 15 s, the embedded Redis at 30 s and
5 nested-JSON poison messages at 45 s. Afterwards every SOS is on `incidents`, `tripwatch up`
is still running, and the SOS sent right after the poison was raised within 3 s."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis as redis_sync
from aiokafka.errors import KafkaError

from core import names
from core.ports import port_is_open
from core.settings import Settings
from tests.reliability.harness import IncidentLog, Mirror, eventually, incidents_in_redis, topic_partitions
from tests.reliability.traffic import Trip
from tests.tripwatch.test_up import descendants, own_up_environment

# Starts its own services or tripwatch processes.
pytestmark = pytest.mark.service

PRESSES = 120
EVERY_S = 0.5
KILL_WORKER_AT = 30  # press number: 15 s in
KILL_REDIS_AT = 60  # 30 s in
POISON_AT = 90  # 45 s in
POISON_LEVELS = 10_000
SOS_WITHIN_MS = 3_000


@pytest.fixture
def up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str], Path]]:
    """`tripwatch up` on ports and a data folder of its own; stopped with SIGTERM afterwards."""
    env = own_up_environment(tmp_path) | {"TRIPWATCH_APP_ID": "tripwatch-done-when"}
    log_path = tmp_path / "up.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tripwatch.cli", "up"], env=env, stdout=log, stderr=log
        )
    try:
        yield process, env, log_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                for pid in descendants(process.pid):
                    _kill(pid)
                process.kill()
                process.wait()


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # gone meanwhile


def child_pid(up_pid: int, wanted: bytes) -> int:
    """The pid of `tripwatch up`'s child whose command line has `wanted` as an argument."""
    for pid in sorted(descendants(up_pid)):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        # Valkey rewrites its title: "valkey-server 127.0.0.1:6379" as one argument
        names = [arg.split(b" ")[0] for arg in args]
        if any(name == wanted or name.endswith(b"/" + wanted) for name in names):
            return pid
    raise AssertionError(f"no child {wanted!r} of tripwatch up (pid {up_pid})")


def settings_of(env: dict[str, str]) -> Settings:
    return Settings(
        kafka_url=f"kafka://127.0.0.1:{env['TRIPWATCH_EMBEDDED_KAFKA_PORT']}",
        redis_url=f"redis://127.0.0.1:{env['TRIPWATCH_EMBEDDED_REDIS_PORT']}/0",
    )


def poison(key: str) -> bytes:
    return b'{"order_id": "' + key.encode() + b'", "n": ' + b"[" * POISON_LEVELS + b"]" * POISON_LEVELS + b"}"


async def press_through_faults(
    mirror: Mirror, up_process: subprocess.Popen[bytes], run_id: str
) -> dict[str, object]:
    """The scenario's traffic and faults; what was pressed and what happened."""
    pressed: dict[str, int] = {}
    notes: dict[str, object] = {}
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for n in range(PRESSES):
        await asyncio.sleep(max(0.0, t0 + n * EVERY_S - loop.time()))
        if up_process.poll() is not None:
            notes["up_exited_at_press"] = n
            break
        if n == KILL_WORKER_AT:
            notes["worker_killed"] = child_pid(up_process.pid, b"worker")
            os.kill(notes["worker_killed"], signal.SIGKILL)
        if n == KILL_REDIS_AT:
            notes["redis_killed"] = child_pid(up_process.pid, b"valkey-server")
            os.kill(notes["redis_killed"], signal.SIGKILL)
        if n == POISON_AT:
            for p in range(5):
                await mirror.send(
                    names.SAFETY_SIGNALS, f"{run_id}-poison-{p}", poison(f"{run_id}-poison-{p}")
                )
            notes["after_poison"] = f"{run_id}-{n:03d}"
        order_id = f"{run_id}-{n:03d}"
        try:
            pressed[order_id] = await asyncio.wait_for(Trip(mirror, order_id).sos(), 15)
        except (KafkaError, TimeoutError) as error:
            notes["send_failed_at_press"] = f"{n}: {error!r}"
            break
    notes["pressed"] = pressed
    return notes


@pytest.mark.timeout(420)
async def test_done_when_120_sos_through_worker_kill_redis_kill_and_poison(up) -> None:
    up_process, env, log_path = up
    settings = settings_of(env)
    run_id = f"dw-{uuid.uuid4().hex[:6]}"
    await eventually(_port_open(settings), 120, "the embedded broker")
    async with Mirror([settings], max_request_size=4 * 1024 * 1024) as mirror:
        await _wait_until_detecting(mirror, settings, run_id, up_process, log_path)
        notes = await press_through_faults(mirror, up_process, run_id)
    pressed: dict[str, int] = notes.pop("pressed")  # type: ignore[assignment]

    def up_log() -> str:
        """`tripwatch up`'s own lines (its children's output is in the same file)."""
        lines = log_path.read_text(errors="replace").splitlines()
        return "\n".join(
            line for line in lines if "tripwatch.supervisor" in line or "tripwatch.embedded" in line
        )

    assert up_process.poll() is None and "up_exited_at_press" not in notes, (
        f"`tripwatch up` did not survive the faults (supervision missing?): exit code "
        f"{up_process.poll()}, {notes}\n{up_log()}"
    )
    wanted = {(o, "sos") for o in pressed}
    try:
        await eventually(
            lambda: _raised(settings, run_id, wanted), 90, "every SOS on `incidents`", every_s=1.0
        )
    except TimeoutError:
        pass  # said below
    log = await IncidentLog.read(settings, run_id)
    missing = sorted(o for o, _ in wanted - log.raised())
    assert len(pressed) == PRESSES and not missing, (
        f"{len(pressed)} of {PRESSES} SOS pressed, {len(missing)} not raised on `incidents`: {missing}; "
        f"{notes}\n{up_log()}"
    )
    first = log.first(f"{notes['after_poison']}:sos")
    late_ms = first["detected_at"] - first["trigger_ts"]
    logging.getLogger(__name__).info("all %d SOS raised; the one after the poison in %d ms", PRESSES, late_ms)
    assert late_ms <= SOS_WITHIN_MS, f"the SOS sent right after the poison was raised after {late_ms} ms"
    assert up_process.poll() is None, f"`tripwatch up` exited at the end:\n{up_log()}"


async def _raised(settings: Settings, run_id: str, wanted: set[tuple[str, str]]) -> bool:
    return (await IncidentLog.read(settings, run_id)).raised() >= wanted


async def _wait_until_detecting(
    mirror: Mirror, settings: Settings, run_id: str, up_process: subprocess.Popen[bytes], log_path: Path
) -> None:
    """A warm-up SOS raised in Redis: the worker consumes and judges."""
    warm_up = f"{run_id}-warm-up"
    client = redis_sync.Redis.from_url(settings.redis_dsn, socket_timeout=5)

    async def raised() -> bool:
        if up_process.poll() is not None:
            raise RuntimeError(f"tripwatch up exited:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            return bool(incidents_in_redis(client, warm_up))
        except redis_sync.RedisError:
            return False

    async def topics_created() -> bool:
        # producing earlier would let the broker auto-create a topic with its own partition count
        try:
            counts = await topic_partitions(settings)
        except KafkaError:
            return False
        return all(counts.get(topic) == settings.partitions for topic in names.INPUT_TOPICS)

    try:
        await eventually(topics_created, 120, "the topics created by tripwatch up", every_s=0.5)
        await Trip(mirror, warm_up).sos()
        await eventually(raised, 150, "the warm-up SOS")
    finally:
        client.close()


def _port_open(settings: Settings) -> Callable[[], bool]:
    host, port = settings.kafka_bootstrap.split(":")
    return lambda: port_is_open(host, int(port))
