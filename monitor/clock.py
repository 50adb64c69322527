"""The wall clock in epoch milliseconds: the one unit of time in events, incidents and Redis scores."""

from __future__ import annotations

import time


def now_ms() -> int:
    return int(time.time() * 1000)
