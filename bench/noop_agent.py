"""faust's own ceiling: a no-op agent on Tripwatch's app settings, over the input topics.

    python bench/noop_agent.py   (settings from TRIPWATCH_* like the worker; BENCH_NOOP_EVENTS)

Started by bench/pipeline.py after the worker, in its own consumer group, so it reads the
same messages from the start. Once it has read BENCH_NOOP_EVENTS of them it stores its rate
(events/s from the first message read to the last) in Redis under `bench:noop-rate`, and its
CPU time per event over the same span under `bench:noop-cpu-us`.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import faust
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import names  # noqa: E402
from core.settings import load_settings  # noqa: E402
from monitor.app import RAW, tripwatch_app  # noqa: E402
from monitor.worker import QuietWorker  # noqa: E402

RATE_KEY = "bench:noop-rate"
CPU_KEY = "bench:noop-cpu-us"  # the process's CPU time per event (all threads), over the same span


def main() -> None:
    settings = load_settings()
    expected = int(os.environ["BENCH_NOOP_EVENTS"])
    app = tripwatch_app(settings, app_id=settings.app_id + "-noop")
    topic = app.topic(*names.INPUT_TOPICS, **RAW)
    redis = aioredis.from_url(settings.redis_dsn)

    @app.agent(topic, name="bench.noop")
    async def noop(stream: faust.StreamT[bytes]) -> None:
        seen, first, first_cpu = 0, 0.0, 0.0
        async for _event in stream.events():  # what the worker's agent does before judging
            seen += 1
            if seen == 1:
                first, first_cpu = time.perf_counter(), time.process_time()
            if seen == expected:
                rate = (seen - 1) / max(time.perf_counter() - first, 1e-9)
                cpu_us = (time.process_time() - first_cpu) / (seen - 1) * 1e6
                await redis.set(CPU_KEY, f"{cpu_us:.1f}")
                await redis.set(RATE_KEY, f"{rate:.1f}")

    QuietWorker(app, loglevel="WARNING", quiet=True).execute_from_commandline()  # as the worker runs


if __name__ == "__main__":
    main()
