"""Effects that must happen: retried through an outage of Redis or the broker, never skipped.

faust commits an event's offset once the agent has moved past it, even when the agent
raised on it. So an effect of an event (its trip log entry, an incident in Redis and on
`incidents`, a dead letter) that fails because a dependency is down must hold the agent
where it is (back-pressure) until it succeeds: crashing the agent would skip the event.

The back-off is short and capped (`MAX_DELAY_S`): when the dependency is back, the next
attempt comes within half a second, so an SOS that waited behind the outage is raised at
once. Only dependency failures are retried; any other error is the event's own fault and
is the caller's to dead-letter (see `Monitor._judge_message`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka.errors import KafkaError, KafkaTimeoutError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from monitor import metrics

log = logging.getLogger(__name__)

T = TypeVar("T")

# A dependency that is down or restarting: worth waiting for, never the event's fault.
# (redis-py's BusyLoadingError, while Valkey reloads its append-only file, is a ConnectionError.)
# A Kafka error counts when aiokafka marks it retriable (a broker away, a leader moving), or
# when a send timed out; a message too large or a closed producer will not get better.
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, KafkaTimeoutError, ConnectionError, TimeoutError)
FIRST_DELAY_S = 0.05
MAX_DELAY_S = 0.5


async def until_done(step: Callable[[], Awaitable[T]], what: str) -> T:
    """Run `step` until it succeeds, waiting out dependency failures; `what` names it in logs."""
    delay = FIRST_DELAY_S
    failing_since: float | None = None
    while True:
        try:
            result = await step()
        except (*OUTAGE_ERRORS, KafkaError) as error:
            if not is_outage(error):
                raise
            if failing_since is None:
                failing_since = time.monotonic()
                metrics.DEPENDENCY_WAITS.inc()
                log.warning(
                    "%s failed (%s: %s): holding until it succeeds", what, type(error).__name__, error
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY_S)
            continue
        if failing_since is not None:
            log.warning("%s succeeded after %.1f s of retries", what, time.monotonic() - failing_since)
        return result


def is_outage(error: BaseException) -> bool:
    """Whether `error` says a dependency is down (wait for it) rather than that the request is bad."""
    if isinstance(error, OUTAGE_ERRORS):
        return True
    return isinstance(error, KafkaError) and bool(getattr(error, "retriable", False))
