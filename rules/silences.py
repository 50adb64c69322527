"""Silences: outreach muted by kind, city and rule, for a time window, ad hoc or every day.

A silenced incident is still detected and recorded; only sending is held back. Outreach
asks `is_silenced(incident, now_ms, silences)` (pure) or `silence_for(redis, incident,
now_ms)` (reads Redis) before it sends.

Stored in the Redis hash `names.SILENCES` (silence_id -> JSON). This is the only silence
model: `tripwatch rules silence` and the board (dashboard/silences.py, which only turns its
form into a silence and a silence into words with `describe`) write it, and the board marks an
incident silenced with `is_silenced`, as outreach decides. Records written by older boards
(`kind`, `city`, `until_ms`, `created_by`, `created_at`, `reason`) still decode.
A recurring silence (`daily: "02:00-05:00"` in `timezone`) holds inside that local
window each day from `starts_ms` until `until_ms`; a window may cross midnight.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import msgspec
import redis.asyncio as aioredis

from core import names
from core.replies import as_bytes
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
    silence = Silence(
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
    if not ever_holds(silence):
        raise SilenceError(f"daily: the window {daily} never opens before the silence ends; give a later end")
    return silence


def ever_holds(silence: Silence) -> bool:
    """Whether the silence holds at any moment between its start and its end (a daily window
    that only opens after the end never does)."""
    if not silence.daily:
        return silence.until_ms > silence.starts_ms
    moments = [silence.starts_ms, *_edges(silence, silence.starts_ms)]
    return any(silence.active(m) for m in moments if silence.starts_ms <= m < silence.until_ms)


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
    silences = [decode(as_bytes(raw)) for raw in await redis.hvals(names.SILENCES)]
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


def describe(silence: Silence, now_ms: int) -> str:
    """The silence in words, e.g. "pickup_delay in berlin, daily 22:00-06:00 Europe/Berlin,
    until 30 Nov 06:00, by anna" (times in the silence's own time zone)."""
    zone = "" if silence.daily else f" {silence.timezone}"
    parts = [
        (silence.kind if silence.kind != ANY else "every kind")
        + (f" in {silence.city}" if silence.city != ANY else " everywhere"),
        f"rule {silence.rule_id}" if silence.rule_id != ANY else "",
        f"daily {silence.daily} {silence.timezone}" if silence.daily else "",
        f"from {_local(silence.starts_ms, silence.timezone)}{zone}" if silence.starts_ms > now_ms else "",
        f"until {_local(silence.until_ms, silence.timezone)}{zone}",
        f"by {silence.created_by}" if silence.created_by else "",
    ]
    text = ", ".join(part for part in parts if part)
    return f"{text}: {silence.reason}" if silence.reason else text


def next_change_ms(silences: Iterable[Silence], now_ms: int) -> int | None:
    """The first moment after `now_ms` when one of `silences` starts or stops holding
    (its start, its end, or an edge of its daily window); None if there is none."""
    moments = [moment for silence in silences for moment in _edges(silence, now_ms)]
    return min((m for m in moments if m > now_ms), default=None)


def _edges(silence: Silence, now_ms: int) -> list[int]:
    edges = [silence.starts_ms, silence.until_ms]
    match = _DAILY.match(silence.daily)
    if match is None:
        return edges
    zone = zone_info(silence.timezone)
    today = datetime.fromtimestamp(max(now_ms, silence.starts_ms) / 1000, zone).date()
    for days in (-1, 0, 1, 2):
        day = today + timedelta(days=days)
        for hour, minute in ((match.group(1), match.group(2)), (match.group(3), match.group(4))):
            local = datetime(day.year, day.month, day.day, int(hour), int(minute), tzinfo=zone)
            edges.append(int(local.timestamp() * 1000))
    return [edge for edge in edges if edge <= silence.until_ms]


def _local(ms: int, timezone: str) -> str:
    moment = datetime.fromtimestamp(ms / 1000, zone_info(timezone))
    return f"{moment.day} {moment:%b %H:%M}"
