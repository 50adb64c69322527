"""Time in one place: the wall clock in epoch milliseconds (the unit of events, incidents and Redis
scores) and the one way a duration is written for people."""

from __future__ import annotations

import time


def now_ms() -> int:
    return int(time.time() * 1000)


def span(seconds: float) -> str:
    """A duration in words for notes and pages: 900 -> '15m', 5400 -> '1h30m', 90 -> '1m30s'."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"
