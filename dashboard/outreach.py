"""What outreach (notifiers/) knows about an incident, read for the board.

Outreach owns its keys; it exposes small read functions in `notifiers.reads`:

- `last_message(redis, incident_id) -> dict | None`: the last message sent to the passenger
  (`channel`, `status`, `at`, `body`);
- `messages_for_order(redis, order_id) -> list[dict]`: every message, oldest first (`at`, …);
- `case_for_order(redis, order_id) -> dict | None`: the order's case with its timeline;
- `shift_counts(redis, since_ms) -> dict`: `sent`, `failed`, `unknown`, `contacted_first` (incident ids
  whose passenger got a delivered message: "reached" on the board; whether that came before the
  passenger contacted support is measured from `support-contacts`, docs/told-first.md).

Until that module exists the board shows what it has and leaves these cells empty.
"""

from __future__ import annotations

import functools
import importlib
import logging
from types import ModuleType
from typing import Any

import redis.asyncio as aioredis

log = logging.getLogger(__name__)


@functools.cache
def _reads() -> ModuleType | None:
    try:
        return importlib.import_module("notifiers.reads")
    except ImportError:
        return None


async def _call(name: str, *args: Any) -> Any:
    module = _reads()
    function = getattr(module, name, None) if module else None
    if function is None:
        return None
    try:
        return await function(*args)
    except Exception:  # outreach's data must never break the board
        log.exception("notifiers.reads.%s failed", name)
        return None


async def last_message(redis: aioredis.Redis, incident_id: str) -> dict[str, Any] | None:
    return await _call("last_message", redis, incident_id)


async def messages_for_order(redis: aioredis.Redis, order_id: str) -> list[dict[str, Any]]:
    return await _call("messages_for_order", redis, order_id) or []


async def case_for_order(redis: aioredis.Redis, order_id: str) -> dict[str, Any] | None:
    return await _call("case_for_order", redis, order_id)


async def shift_counts(redis: aioredis.Redis, since_ms: int) -> dict[str, Any] | None:
    return await _call("shift_counts", redis, since_ms)
