"""Silences: outreach muted by kind, city and rule, for a time window, ad hoc or every day.

A silenced incident is still detected and recorded; only sending is held back. Outreach
asks `is_silenced(incident, now_ms, silences)` (pure) or `silence_for(redis, incident,
now_ms)` (reads Redis) before it sends.

Stored in the Redis hash `names.SILENCES` (silence_id -> JSON), the one the board's
silences use: the fields here are a superset of the board's record (`kind`, `city`,
`until_ms`, `created_by`, `created_at`, `reason`), so either side reads the other's.
A recurring silence (`daily: "02:00-05:00"` in `timezone`) holds inside that local
window each day from `starts_ms` until `until_ms`; a window may cross midnight.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec
import redis.asyncio as aioredis

from monitor import names
from rules.context import valid_zone, zone_info

ANY = "*"
_DAILY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class SilenceError(ValueError):
    """A silence that cannot be stored; the message says which field and why."""


class Silence(msgspec.Struct, kw_only=True, frozen=True):
    silence_id: str
    kind: str = ANY
    city: str = ANY
    rule_id: str = ANY
    starts_ms: int = 0
    until_ms: int
    daily: str = ""  # "HH:MM-HH:MM" local time; empty = the whole window
    timezone: str = "UTC"
    created_by: str = ""
    created_at: int = 0
    reason: str = ""

    def active(self, now_ms: int) -> bool:
        if not self.starts_ms <= now_ms < self.until_ms:
            return False
        return not self.daily or _in_daily_window(self.daily, self.timezone, now_ms)

    def matches(self, kind: str, city: str | None, rule_id: str) -> bool:
        return self.kind in (ANY, kind) and self.city in (ANY, city or "") and self.rule_id in (ANY, rule_id)


def new_silence(
    *,
    until_ms: int,
    now_ms: int,
    kind: str = ANY,
    city: str = ANY,
    rule_id: str = ANY,
    starts_ms: int | None = None,
    daily: str = "",
    timezone: str = "UTC",
    created_by: str = "",
    reason: str = "",
) -> Silence:
    """A checked silence with a fresh id; raises `SilenceError` naming the bad field."""
    starts = now_ms if starts_ms is None else starts_ms
    if until_ms <= starts:
        raise SilenceError("until: the silence must end after it starts")
    if daily and not _DAILY.match(daily):
        raise SilenceError(f"daily: expected HH:MM-HH:MM such as 02:00-05:00 (got {daily!r})")
    if not valid_zone(timezone):
        raise SilenceError(f"timezone: unknown time zone {timezone!r}")
    return Silence(
        silence_id=secrets.token_hex(6),
        kind=kind.strip() or ANY,
        city=city.strip() or ANY,
        rule_id=rule_id.strip() or ANY,
        starts_ms=starts,
        until_ms=until_ms,
        daily=daily,
        timezone=timezone,
        created_by=created_by,
        created_at=now_ms,
        reason=reason,
    )


def is_silenced(incident: Any, now_ms: int, silences: Iterable[Silence]) -> Silence | None:
    """The silence that holds `incident`'s outreach at `now_ms`, or None.

    `incident` is an `Incident`, an `IncidentChange` or a dict with `kind`, `city`, `rule_id`.
    """
    kind, city, rule_id = (_field(incident, name) for name in ("kind", "city", "rule_id"))
    for silence in silences:
        if silence.matches(kind or "", city, rule_id or "") and silence.active(now_ms):
            return silence
    return None


async def silence_for(redis: aioredis.Redis, incident: Any, now_ms: int) -> Silence | None:
    return is_silenced(incident, now_ms, await in_force(redis, now_ms))


async def save(redis: aioredis.Redis, silence: Silence) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(names.SILENCES, silence.silence_id, msgspec.json.encode(silence))
        pipe.publish(names.BOARD_CHANGES, b"silences")
        await pipe.execute()


async def remove(redis: aioredis.Redis, silence_id: str) -> bool:
    removed = await redis.hdel(names.SILENCES, silence_id)
    if removed:
        await redis.publish(names.BOARD_CHANGES, b"silences")
    return bool(removed)


async def in_force(redis: aioredis.Redis, now_ms: int) -> list[Silence]:
    """Silences not yet over (expired ones are deleted on the way), soonest end first."""
    silences = [decode(raw) for raw in await redis.hvals(names.SILENCES)]
    expired = [s.silence_id for s in silences if s.until_ms <= now_ms]
    if expired:
        await redis.hdel(names.SILENCES, *expired)
    return sorted((s for s in silences if s.until_ms > now_ms), key=lambda s: s.until_ms)


def decode(raw: bytes) -> Silence:
    return msgspec.json.decode(raw, type=Silence)


def _field(incident: Any, name: str) -> Any:
    return incident.get(name) if isinstance(incident, dict) else getattr(incident, name, None)


def _in_daily_window(daily: str, timezone: str, now_ms: int) -> bool:
    match = _DAILY.match(daily)
    if match is None:
        return False
    start = int(match.group(1)) * 60 + int(match.group(2))
    end = int(match.group(3)) * 60 + int(match.group(4))
    moment = datetime.fromtimestamp(now_ms / 1000, zone_info(timezone))
    minute = moment.hour * 60 + moment.minute
    return start <= minute < end if start <= end else minute >= start or minute < end
