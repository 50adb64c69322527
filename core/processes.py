"""Child processes: started in their own process group, stopped with the whole group.

One way to start and stop a child for `tripwatch up`, the embedded services and the
tools and tests that run a worker, so that none leaves a process behind.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)


def resident_bytes(pid: int) -> int:
    """`pid`'s resident memory, from /proc (Linux); OSError when it cannot be read."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def spawn(
    command: list[str],
    env: dict[str, str] | None = None,
    output: IO[bytes] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start `command` as the leader of a new process group (so Ctrl-C in a terminal reaches
    only `tripwatch up`, which stops its children in order). `output` takes stdout and stderr."""
    stderr = subprocess.STDOUT if output is not None else None
    return subprocess.Popen(command, env=env, stdout=output, stderr=stderr, cwd=cwd, start_new_session=True)


def stop_process(name: str, process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    """SIGTERM to the child's group; SIGKILL if it has not stopped within `timeout_s`."""
    if process.poll() is not None:
        return
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop within %.0f s: killing it", name, timeout_s)
        _signal_group(process, signal.SIGKILL)
        process.wait()
    log.info("%s stopped", name)


def describe_exit(returncode: int) -> str:
    """`exited with code 1` or `was killed by SIGKILL` (Popen gives -N for signal N)."""
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass  # it ended between the poll and the signal
