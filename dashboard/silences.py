"""Silences: supervisors mute outreach for a kind in a city until a time; incidents are still recorded.

Outreach asks `is_silenced(redis, kind, city, now_ms)` before it sends.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Protocol

import msgspec
import redis.asyncio as aioredis

from monitor import names


class Silence(msgspec.Struct, kw_only=True, frozen=True):
    silence_id: str
    kind: str  # "*" = every kind
    city: str  # "*" = every city
    until_ms: int
    created_by: str
    created_at: int
    reason: str = ""

    def covers(self, kind: str, city: str | None, now_ms: int) -> bool:
        return now_ms < self.until_ms and self.kind in ("*", kind) and self.city in ("*", city or "")


def new_silence(kind: str, city: str, until_ms: int, actor: str, now_ms: int, reason: str = "") -> Silence:
    return Silence(
        silence_id=secrets.token_hex(6),
        kind=kind.strip() or "*",
        city=city.strip() or "*",
        until_ms=until_ms,
        created_by=actor,
        created_at=now_ms,
        reason=reason,
    )


async def save(redis: aioredis.Redis, silence: Silence) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(names.SILENCES, silence.silence_id, msgspec.json.encode(silence))
        pipe.publish(names.BOARD_CHANGES, b"silences")
        await pipe.execute()


async def remove(redis: aioredis.Redis, silence_id: str) -> Silence | None:
    raw = await redis.hget(names.SILENCES, silence_id)
    if raw is None:
        return None
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hdel(names.SILENCES, silence_id)
        pipe.publish(names.BOARD_CHANGES, b"silences")
        await pipe.execute()
    return msgspec.json.decode(raw, type=Silence)


async def in_force(redis: aioredis.Redis, now_ms: int) -> list[Silence]:
    """Silences still running, soonest end first (expired ones are dropped on the way)."""
    silences = [msgspec.json.decode(raw, type=Silence) for raw in await redis.hvals(names.SILENCES)]
    expired = [s.silence_id for s in silences if s.until_ms <= now_ms]
    if expired:
        await redis.hdel(names.SILENCES, *expired)
    return sorted((s for s in silences if s.until_ms > now_ms), key=lambda s: s.until_ms)


async def is_silenced(redis: aioredis.Redis, kind: str, city: str | None, now_ms: int) -> bool:
    return any(s.covers(kind, city, now_ms) for s in await in_force(redis, now_ms))


class _HasKindAndCity(Protocol):
    kind: str
    city: str | None


def checker(redis: aioredis.Redis) -> Callable[[_HasKindAndCity, int], Awaitable[bool]]:
    """An `is_silenced(incident, now_ms)` for outreach's engine (notifiers.policy.SilenceCheck)."""

    async def is_incident_silenced(incident: _HasKindAndCity, now_ms: int) -> bool:
        return await is_silenced(redis, incident.kind, incident.city, now_ms)

    return is_incident_silenced
