"""Fixtures of the fault-injection tests: each module gets services of its own, so that
killing them never disturbs the session's shared broker, Redis and worker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.harness import ChildProcess, Stack


@pytest.fixture(scope="module")
def new_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Awaitable[Stack]]]:
    """Starts a broker and a Redis of the module's own (as many stacks as asked for); all stopped
    when the module is done."""
    started: list[Stack] = []

    async def start(name: str = "faults", **options: object) -> Stack:
        stack = Stack(tmp_path_factory.mktemp(name), app_id=f"tripwatch-{name}", **options)
        started.append(stack)  # first: a start that fails half-way is still stopped
        await stack.start()
        return stack

    yield start
    for stack in started:
        stack.stop()


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Callable[..., ChildProcess]]:
    """Worker (or outreach) processes of one test, stopped after it, whatever happened."""
    made: list[ChildProcess] = []

    def child(stack: Stack, command: str = "worker", **options: object) -> ChildProcess:
        log_dir = tmp_path / f"{command}-{stack.base.name}"  # one folder per stack and command
        process = ChildProcess(command, options.pop("settings", stack.settings), log_dir, **options)
        made.append(process)
        return process

    yield child
    for process in made:
        process.stop()
