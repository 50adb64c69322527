"""A hard cap on messages per passenger per trip and per UTC day, whatever the rules say.

Safety first: messages of critical incidents and safety check-ins are exempt (`exempt`); they
are neither refused nor counted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from core import names
from core.settings import Settings
from notifiers.model import IncidentView

DAY_TTL_S = 2 * 86_400


@dataclass
class Budget:
    trip_key: str
    day_key: str
    trip_left: int
    day_left: int

    def take(self) -> bool:
        if self.trip_left <= 0 or self.day_left <= 0:
            return False
        self.trip_left -= 1
        self.day_left -= 1
        return True


def exempt(incident: IncidentView, step: str) -> bool:
    """A critical incident's messages, and a safety incident's opening (the check-in)."""
    return incident.severity == "critical" or (step == "open" and incident.is_safety)


def keys(passenger_id: str, order_id: str, now_ms: int) -> tuple[str, str]:
    day = time.strftime("%Y%m%d", time.gmtime(now_ms / 1000))
    return f"{names.BUDGET_TRIP}{passenger_id}:{order_id}", f"{names.BUDGET_DAY}{passenger_id}:{day}"


async def read(redis: aioredis.Redis, settings: Settings, trip_key: str, day_key: str) -> Budget:
    trip_used, day_used = await redis.mget([trip_key, day_key])
    return Budget(
        trip_key,
        day_key,
        settings.outreach_budget_per_trip - int(trip_used or 0),
        settings.outreach_budget_per_day - int(day_used or 0),
    )


def spend(pipe: aioredis.client.Pipeline, budget: Budget, count: int) -> None:
    if count:
        pipe.incrby(budget.trip_key, count)
        pipe.expire(budget.trip_key, DAY_TTL_S)
        pipe.incrby(budget.day_key, count)
        pipe.expire(budget.day_key, DAY_TTL_S)
