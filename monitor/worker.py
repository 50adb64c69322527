"""`tripwatch worker`: one faust worker process."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import faust

from core.processes import spawn, stop_process
from core.settings import Settings
from monitor.app import Monitor
from monitor.topics import ensure_topics
from rules.loader import load_rule_dir

log = logging.getLogger(__name__)


class QuietWorker(faust.Worker):
    """faust's worker without its terminal spinner.

    To spin the spinner on every log record, faust sets the root logger to DEBUG whatever the
    level asked for: every debug call of faust and aiokafka then built a record that the
    handlers threw away (about 7 % of the worker's CPU under load, measured with py-spy)."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None


def run_worker(settings: Settings) -> None:
    """Load the rules (refusing a broken set), create topics, run until a signal."""
    rules = load_rule_dir(settings.rules_dir)
    log.info("rules %s loaded from %s (%d rules)", rules.version, settings.rules_dir, len(rules.rules))
    asyncio.run(ensure_topics(settings))
    monitor = Monitor(settings, rules)
    worker = QuietWorker(monitor.app, loglevel=settings.log_level.upper(), quiet=True)
    worker.execute_from_commandline()


READY_LINE = "Worker]: Ready"  # what faust logs once the worker consumes


@contextmanager
def worker_process(
    settings: Settings, log_path: Path, timeout_s: float = 90.0
) -> Iterator[subprocess.Popen[bytes]]:
    """A `tripwatch worker` subprocess with these settings, yielded once it consumes; stopped
    (SIGTERM, then SIGKILL after 20 s) on exit. For tools and tests that need a worker."""
    env = dict(os.environ) | settings.as_environment()
    with log_path.open("wb") as sink:
        process = spawn([sys.executable, "-m", "tripwatch.cli", "worker"], env, sink)
    try:
        _wait_ready(log_path, process, timeout_s)
        yield process
    finally:
        stop_process("worker", process, timeout_s=20)


def _wait_ready(log_path: Path, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if READY_LINE in log_path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the worker exited with code {process.returncode}:\n{tail}")
        time.sleep(0.1)
    raise RuntimeError(f"the worker was not ready within {timeout_s:.0f} s; see {log_path}")
