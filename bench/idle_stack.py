"""A real `tripwatch up --demo` at rest: what each process costs idle, and how fast an SOS
is an incident after the quiet spell.

Starts `tripwatch up --demo` on free ports in a temporary folder, lets its demo replay finish
(the replay pace is `--speed`), waits `--settle-seconds` more, measures each process's share of
a core for `--idle-seconds`, then produces an SOS on an idle stack `--sos-rounds` times (each
after `--sos-idle-seconds` of quiet) and times it to its incident in Redis.

    .venv/bin/python bench/idle_stack.py --idle-seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import orjson
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import procstat  # noqa: E402  (bench/, on the path as the script's own directory)

from core import names  # noqa: E402
from core.clock import now_ms  # noqa: E402
from core.ports import free_port, port_is_open  # noqa: E402
from core.processes import spawn, stop_process  # noqa: E402

CHILD_NAMES = {"broker": "tansu", "redis": "valkey"}  # Valkey rewrites its command line
CLI_CHILDREN = ("worker", "outreach", "dashboard", "sandbox", "replay")


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as listing:
            found += [int(child) for child in listing.read().split()]
    return found


def role(pid: int) -> str | None:
    """What a child of `tripwatch up` is, from its command line."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as raw:
            argv = [part.decode() for part in raw.read().split(b"\0") if part]
    except OSError:
        return None
    for name, binary in CHILD_NAMES.items():
        if argv and binary in Path(argv[0].split()[0]).name:
            return name
    return next((arg for arg in argv if arg in CLI_CHILDREN), None)


def stack_pids(up_pid: int) -> dict[str, int]:
    pids = {"up": up_pid}
    for pid in children(up_pid):
        name = role(pid)
        if name:
            pids[name] = pid
    return pids


def wait_for(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


async def sos_latency(kafka: str, redis_url: str, order_id: str) -> float:
    """ms from an SOS sent to its incident in Redis."""
    redis = aioredis.from_url(redis_url)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, linger_ms=0)
    await producer.start()
    event = {
        "event_id": f"{order_id}-sos", "type": "sos.pressed", "order_id": order_id, "ts": now_ms(),
        "source": "passenger",
    }  # fmt: skip
    try:
        sent = time.perf_counter()
        await producer.send_and_wait(names.SAFETY_SIGNALS, key=order_id.encode(), value=orjson.dumps(event))
        while not await redis.exists(names.incident_key(f"{order_id}:sos")):
            if time.perf_counter() - sent > 30:
                return float("inf")
            await asyncio.sleep(0.001)
        return (time.perf_counter() - sent) * 1000
    finally:
        await producer.stop()
        await redis.aclose()


def environment(folder: Path) -> tuple[dict[str, str], dict[str, int]]:
    ports = {
        name: free_port()
        for name in ("EMBEDDED_KAFKA_PORT", "EMBEDDED_REDIS_PORT", "DASHBOARD_PORT", "SANDBOX_PORT",
                     "WORKER_METRICS_PORT")
    }  # fmt: skip
    env = dict(os.environ) | {f"TRIPWATCH_{k}": str(v) for k, v in ports.items()}
    env |= {"TRIPWATCH_DATA_DIR": str(folder), "TRIPWATCH_LOG_LEVEL": "warning"}
    return env, ports


def measure(args: argparse.Namespace, up_pid: int, ports: dict[str, int]) -> None:
    wait_for(lambda: "replay" in stack_pids(up_pid), 120, "the demo replay to start")
    print("demo replay running ...", flush=True)
    wait_for(lambda: "replay" not in stack_pids(up_pid), 600, "the demo replay to end")
    time.sleep(args.settle_seconds)
    pids = stack_pids(up_pid)
    shares = procstat.cpu_share(pids, args.idle_seconds)
    for name, share in sorted(shares.items(), key=lambda item: -item[1]):
        print(f"idle cpu  {name:10s} {share * 100:5.1f} % of one core")
    print(f"idle cpu  stack      {sum(shares.values()) * 100:5.1f} % of one core ({args.idle_seconds:.0f} s)")
    kafka = f"127.0.0.1:{ports['EMBEDDED_KAFKA_PORT']}"
    redis_url = f"redis://127.0.0.1:{ports['EMBEDDED_REDIS_PORT']}/0"
    results = []
    for n in range(args.sos_rounds):
        time.sleep(args.sos_idle_seconds)
        results.append(asyncio.run(sos_latency(kafka, redis_url, f"idle-sos-{n}-{now_ms()}")))
    if results:
        shown = ", ".join(f"{ms:.0f}" for ms in results)
        print(f"sos after {args.sos_idle_seconds:.0f} s idle -> incident in Redis: {shown} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--speed", type=float, default=50.0, help="demo replay pace")
    parser.add_argument("--settle-seconds", type=float, default=10.0)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--sos-rounds", type=int, default=3)
    parser.add_argument("--sos-idle-seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env, ports = environment(Path(tmp))
        command = [sys.executable, "-m", "tripwatch.cli", "up", "--demo", "--speed", str(args.speed)]
        with open(Path(tmp) / "up.log", "wb") as sink:
            up = spawn(command, env, cwd=ROOT, output=sink)
        try:
            wait_for(lambda: port_is_open("127.0.0.1", ports["DASHBOARD_PORT"]), 120, "the board")
            measure(args, up.pid, ports)
        finally:
            stop_process("up", up, timeout_s=30)


if __name__ == "__main__":
    main()
