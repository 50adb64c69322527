"""The worker killed with SIGKILL under steady traffic and started again 10 s later, as a process
manager would: the incidents equal those of a fault-free worker fed the very same input.

Two stacks run side by side; every event goes, with the same bytes and timestamps, to both
(`Mirror`). The reference stack's worker is never touched. The other's is killed a third of
the way through the traffic and restarted while the traffic goes on, so SOS presses, trips'
ends and deadlines (a trip gone silent, a long stop) fall into the outage.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from core import names
from tests.reliability import traffic
from tests.reliability.harness import (
    ChildProcess,
    IncidentLog,
    Mirror,
    Stack,
    describe,
    eventually,
    now_ms,
    raised_in_redis,
    trouble_lines,
)

SPAN_S = 30.0
KILL_AT_S = SPAN_S / 3
OUTAGE_S = 10.0
SETTLE_S = 5.0  # after the sets agree: time for a false incident to show up


async def kill_and_restart(worker: ChildProcess, times: dict[str, int]) -> None:
    await asyncio.sleep(KILL_AT_S)
    times["killed"] = now_ms()
    worker.kill()
    await asyncio.sleep(OUTAGE_S)
    times["restarted"] = now_ms()
    await worker.start(timeout_s=120)
    times["ready"] = now_ms()


def what(pairs: set[tuple[str, str]], trips: dict[str, str], stacks: tuple[Stack, Stack]) -> str:
    """For a failure message: each incident with its trip's script and how many of the trip's
    non-telemetry events each stack's worker read (its trip log): fewer means skipped on re-read."""
    with stacks[0].redis_client() as ref_redis, stacks[1].redis_client() as redis:
        return (
            "; ".join(
                f"{o}:{k} ({trips.get(o, '?')}; events read: reference {ref_redis.llen(names.trip_events_key(o))}, "
                f"faulted {redis.llen(names.trip_events_key(o))})"
                for o, k in sorted(pairs)
            )
            or "none"
        )


# Quarantined (issue 11 stays open): about one run in seven still loses an incident. faust hands
# records to the agent during recovery, before its seek to the committed offsets, so a stop's
# later pings can be judged before its first. Run it with `pytest -m quarantine`.
@pytest.mark.quarantine
@pytest.mark.timeout(300)
async def test_worker_kill_9_under_steady_traffic_loses_and_invents_nothing(new_stack, children) -> None:
    reference, faulted = await new_stack("reference"), await new_stack("faulted")
    reference_worker, worker = children(reference), children(faulted)
    await asyncio.gather(reference_worker.start(), worker.start())
    run_id = f"wk-{uuid.uuid4().hex[:6]}"
    times: dict[str, int] = {"start": now_ms()}

    async with Mirror([reference, faulted]) as mirror:
        fault = asyncio.create_task(kill_and_restart(worker, times))
        trips = await traffic.run(mirror, run_id, traffic.steady_mix(SPAN_S))
        await fault
    times["traffic_end"] = now_ms()
    labels = traffic.expected(trips)

    with reference.redis_client() as ref_redis, faulted.redis_client() as redis:
        await eventually(
            lambda: raised_in_redis(ref_redis, run_id) >= labels, 60, "the reference's incidents"
        )
        try:
            await eventually(
                lambda: raised_in_redis(redis, run_id) >= labels, 60, "the faulted stack's incidents"
            )
        except TimeoutError:
            pass  # the assertions below say what is missing
        await asyncio.sleep(SETTLE_S)
        ref_raised, raised = raised_in_redis(ref_redis, run_id), raised_in_redis(redis, run_id)
    ref_log, log = (
        await IncidentLog.read(reference.settings, run_id),
        await IncidentLog.read(faulted.settings, run_id),
    )

    timeline = {k: round((v - times["start"]) / 1000, 1) for k, v in times.items()}
    evidence = f"timeline (s): {timeline}\nworker log trouble:\n" + "\n".join(
        trouble_lines(worker.log(-1)) + trouble_lines(worker.log(0))
    )
    assert ref_raised == labels, (
        f"the fault-free reference disagrees with the scenario's labels (machine too loaded?): "
        f"missing {describe(labels - ref_raised)}; extra {describe(ref_raised - labels)}"
    )
    assert raised == ref_raised, (
        f"after a worker kill -9: LOST {what(ref_raised - raised, trips, (reference, faulted))}; "
        f"FALSE {what(raised - ref_raised, trips, (reference, faulted))}\n{evidence}"
    )
    assert log.raised() == ref_log.raised() == ref_raised, (
        f"on the incidents topic: lost {describe(ref_log.raised() - log.raised())}; "
        f"extra {describe(log.raised() - ref_log.raised())}\n{evidence}"
    )
    opened_twice = {i: n for i, n in log.openings().items() if n != 1}
    assert not opened_twice, f"incidents opened more than once: {opened_twice}\n{evidence}"
    moved = {
        i: (ref_log.first(i)["trigger_ts"], log.first(i)["trigger_ts"])
        for i in ref_log.revisions
        if log.first(i) and ref_log.first(i)["trigger_ts"] != log.first(i)["trigger_ts"]
    }
    assert not moved, f"trigger times differ from the reference's (reference, faulted): {moved}"
    assert worker.alive(), f"the restarted worker died:\n{worker.log()[-3000:]}"
