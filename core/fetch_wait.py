"""How long a consumer's fetch waits: short while records come, longer once the topics go quiet.

The embedded broker holds every fetch for the consumer's full maximum wait, even when data
is there (docs/architecture.md): the wait is the latency, and its inverse the polling rate.
10 ms everywhere made an idle stack poll the broker 100 times a second per consumer (about a
fifth of a core, idle). So a consumer waits `busy_ms` while fetches bring records, and
`idle_ms` once they have brought nothing for about a second: the first event after a quiet
spell waits at most `idle_ms` more, every later one `busy_ms`.

aiokafka has no setting for this: its Fetcher reads `_fetch_max_wait_ms` for every request,
and `_proc_fetch_request` says whether a response brought records, so that is what is hooked.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

QUIET_AFTER_MS = 1_000  # this long without records and the consumer is idle


def adapt_fetch_wait(consumer: Any, busy_ms: int, idle_ms: int) -> None:
    """Make a started AIOKafkaConsumer wait `busy_ms` per fetch while busy, `idle_ms` when idle."""
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is None or idle_ms <= busy_ms:
        return
    process = fetcher._proc_fetch_request
    quiet_after = max(1, QUIET_AFTER_MS // max(busy_ms, 1))
    empty = 0

    async def proc_fetch_request(assignment: Any, node_id: Any, request: Any) -> bool:
        nonlocal empty
        brought = await process(assignment, node_id, request)
        if brought:  # records (or an offset to reset): be quick again
            empty = 0
            fetcher._fetch_max_wait_ms = busy_ms
        else:
            empty += 1
            if empty >= quiet_after:
                fetcher._fetch_max_wait_ms = idle_ms
        return bool(brought)

    fetcher._proc_fetch_request = proc_fetch_request
    fetcher._fetch_max_wait_ms = busy_ms
