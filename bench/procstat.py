"""What a process costs, from /proc (Linux): resident memory and CPU time."""

from __future__ import annotations

import os
import time

from core.processes import resident_bytes

TICKS = os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    return resident_bytes(pid)


def cpu_seconds(pid: int) -> float:
    """User and system time of `pid` and its children that were waited for."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / TICKS  # utime, stime, cutime, cstime


def cpu_share(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """Each process's share of one core over the next `seconds` (0.25 = a quarter of a core)."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - started
    return {name: (cpu_seconds(pid) - before[name]) / elapsed for name, pid in pids.items()}
