"""The embedded broker killed with SIGKILL and started again on the same port. It keeps
everything in memory, so every topic, offset and changelog is gone; the claim is only that
Tripwatch comes back: the topics exist again with the configured partition count, and a NEW
SOS gets its incident (in Redis and on `incidents`) and its case (outreach opens one for
every critical incident)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from core import names
from monitor.topics import topic_specs
from tests.reliability.harness import (
    ChildProcess,
    IncidentLog,
    Mirror,
    Stack,
    eventually,
    incidents_in_redis,
    topic_partitions,
    trouble_lines,
)
from tests.reliability.traffic import Trip

RAISED_WITHIN_S = 45.0


async def sos_is_handled(stack: Stack, order_id: str, outreach: ChildProcess) -> None:
    """Press SOS on a new order; wait for its incident in Redis and its case."""
    async with Mirror([stack]) as mirror:
        await Trip(mirror, order_id).sos()
    with stack.redis_client() as redis:
        await eventually(
            lambda: incidents_in_redis(redis, order_id), RAISED_WITHIN_S, f"{order_id}'s incident"
        )
        await eventually(
            lambda: redis.zcard(names.CASES_BY_ORDER + order_id),
            30,
            f"{order_id}'s case\n{outreach.log()[-2000:]}",
        )


async def restart_the_dead(*processes: ChildProcess) -> list[str]:
    """What a process manager does: start again what has exited. Names of those restarted."""
    restarted = []
    for process in processes:
        if not process.alive():
            restarted.append(f"{process.command} (exit {process.process.returncode})")
            await process.start()
    return restarted


@pytest.mark.timeout(240)
async def test_after_a_broker_kill_9_topics_are_back_and_a_new_sos_is_handled(new_stack, children) -> None:
    stack = await new_stack("broker-kill")
    worker = children(stack)
    outreach = children(stack, "outreach", ready_line="outreach: consuming")
    await asyncio.gather(worker.start(), outreach.start())
    run_id = f"bk-{uuid.uuid4().hex[:6]}"
    await sos_is_handled(stack, f"{run_id}-before", outreach)  # the set-up works before the fault

    stack.kill_broker()
    await asyncio.sleep(2)
    await stack.restart_broker()
    await asyncio.sleep(stack.settings.session_timeout_s)  # time for a client to notice, or die
    restarted = await restart_the_dead(worker, outreach)

    after = f"{run_id}-after"
    try:
        await sos_is_handled(stack, after, outreach)
    except TimeoutError as error:
        pytest.fail(
            f"after the broker restart (restarted: {restarted or 'nothing'}): {error}\n"
            f"worker log trouble:\n" + "\n".join(trouble_lines(worker.log(), limit=20))
        )
    log = await IncidentLog.read(stack.settings, run_id)
    assert (after, "sos") in log.raised(), f"the new SOS is not on `incidents`: {sorted(log.raised())}"

    counts = await topic_partitions(stack.settings)
    ours = [spec.name for spec in topic_specs(stack.settings)] + [
        t for t in counts if t.startswith(stack.app_id)
    ]
    wrong = {t: counts.get(t) for t in ours if counts.get(t) != stack.partitions}
    assert not wrong, f"topics without {stack.partitions} partitions after the restart: {wrong}"
