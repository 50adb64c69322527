"""The children of `tripwatch up`, kept running: a child that dies is restarted after a
back-off (tripwatch/restarts.py) while the others go on serving; a child that crash-loops
stops everything.

An embedded broker keeps everything in memory, so its restart is special: the children that
produce to it or keep state in it (`needs_broker`) are stopped as soon as it dies, and started
again only once it is back and `on_broker_back` (which creates the topics) has run, so none of
them can auto-create a topic with the broker's own partition count.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from core.processes import describe_exit, stop_process
from tripwatch.restarts import RestartBook

log = logging.getLogger(__name__)

HOLD_TIMEOUT_S = 5.0  # a child held for a broker restart has no broker to finish its work with


class CrashLoop(RuntimeError):
    """A child died again too soon after too many restarts; the message names it."""


@dataclass
class Child:
    """One supervised process: how to start it, and how often it was restarted."""

    name: str
    start: Callable[[], subprocess.Popen[bytes]]  # starts it, and waits until it serves if it must
    one_shot: bool = False  # finishing (code 0) is normal: the replay
    needs_broker: bool = False  # held while an embedded broker restarts
    is_broker: bool = False
    stop_timeout_s: float = 15.0
    book: RestartBook = field(default_factory=RestartBook)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None  # set while it waits out a back-off
    finished: bool = False
    held: bool = False

    def launch(self) -> None:
        self.started_at = time.monotonic()
        self.restart_at = None
        self.held = False
        self.process = self.start()
        log.info("started %s (pid %d)", self.name, self.process.pid)

    def halt(self, timeout_s: float | None = None) -> None:
        if self.process is not None:
            stop_process(self.name, self.process, timeout_s or self.stop_timeout_s)
        self.process = None
        self.restart_at = None

    def has_died(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def restart_due(self, now: float) -> bool:
        return self.restart_at is not None and now >= self.restart_at


class Supervisor:
    """Starts children in order, restarts the ones that die, stops all in reverse order."""

    def __init__(self, stop: threading.Event, on_broker_back: Callable[[], None] = lambda: None) -> None:
        self.stop = stop
        self.on_broker_back = on_broker_back
        self.children: list[Child] = []
        self.broker_lost_data = False  # until the topics are back on a restarted broker

    def start(self, child: Child) -> Child:
        self.children.append(child)
        child.launch()
        return child

    def stop_all(self) -> None:
        for child in reversed(self.children):
            child.halt()

    def watch(self) -> int:
        """Block until a signal (0) or a crash loop (1)."""
        try:
            while not self.stop.wait(0.2):
                self.check(time.monotonic())
        except CrashLoop as error:
            log.error("%s: stopping everything", error)
            return 1
        return 0

    def check(self, now: float) -> None:
        """One look at every child: note the deaths, restart those whose back-off is over."""
        for child in self.children:
            if child.has_died():
                self._on_exit(child, now)
            elif child.restart_due(now):
                self._restart(child)
        if self.broker_lost_data and self._broker_serves():
            self._release_broker_users()

    def _on_exit(self, child: Child, now: float) -> None:
        process, child.process = child.process, None
        if process is None:
            return
        code, pid = process.returncode, process.pid
        if child.one_shot and code == 0:
            child.finished = True
            log.info("%s finished", child.name)
            return
        self._schedule(child, now, f"{child.name} (pid {pid}) {describe_exit(code)}")

    def _schedule(self, child: Child, now: float, what: str) -> None:
        delay = child.book.on_death(child.started_at, now)
        if delay is None:
            policy = child.book.policy
            raise CrashLoop(
                f"{what}, after {policy.crash_loop_restarts} restarts within "
                f"{policy.crash_loop_window_s:.0f} s: {child.name} crash-loops"
            )
        log.warning("%s; restart %d in %.1f s", what, child.book.total, delay)
        child.restart_at = now + delay
        if child.is_broker:
            self.broker_lost_data = True
            self._hold_broker_users()

    def _restart(self, child: Child) -> None:
        try:
            child.launch()
        except Exception as error:  # it did not come up: a death like any other
            child.process = None
            self._schedule(child, time.monotonic(), f"{child.name} did not start again ({error})")

    def _broker_serves(self) -> bool:
        return any(c.is_broker and c.process is not None and not c.has_died() for c in self.children)

    def _hold_broker_users(self) -> None:
        for child in reversed(self.children):
            if child.needs_broker and not child.finished and not child.held:
                log.info("holding %s until the broker is back", child.name)
                child.halt(HOLD_TIMEOUT_S)
                child.held = True

    def _release_broker_users(self) -> None:
        try:
            self.on_broker_back()
        except Exception as error:
            log.error("the broker is back but its topics could not be created (%s); trying again", error)
            return
        self.broker_lost_data = False
        for child in self.children:
            if child.held:
                self._restart(child)
