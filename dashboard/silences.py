"""The board's side of silences: the form's input, the list in words, the "silenced" marks.

There is one silence model, `rules.silences` (kind, city, rule, start and end, a daily
window in a time zone), the one outreach obeys. The board adds no rule of its own: an
incident is marked silenced exactly when `rules.silences.is_silenced` says so for the
silences `in_force` now, which is what outreach's `silence_for` decides.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import redis.asyncio as aioredis

from core import names
from core.replies import as_bytes
from rules.silences import (
    Silence,
    SilenceError,
    decode,
    describe,
    is_silenced,
    new_silence,
    next_change_ms,
    remove,
)

MAX_FIELD = 64
MAX_REASON = 2000
MAX_DAYS = 90  # the board's limit on one silence; the CLI has none
_DAY_MS = 86_400_000


def from_form(body: Mapping[str, Any], actor: str, now_ms: int) -> Silence:
    """A checked silence from the board's form (JSON); raises `SilenceError` naming the field.

    Fields: `kind`, `city`, `rule_id` (empty or `*` = any), `starts_ms` (empty = now),
    `until_ms` or else `minutes` from the start, `daily` ("HH:MM-HH:MM"), `timezone`, `reason`.
    """
    starts = _optional_int(body, "starts_ms")
    until = _optional_int(body, "until_ms")
    if until is None:
        minutes = _number(body, "minutes")
        if minutes is None or minutes <= 0:
            raise SilenceError("until: give an end, or a number of minutes above 0")
        until = (now_ms if starts is None else starts) + int(minutes * 60_000)
    if until - max(now_ms, starts or now_ms) > MAX_DAYS * _DAY_MS:
        raise SilenceError(f"until: a silence from the board lasts at most {MAX_DAYS} days")
    return new_silence(
        until_ms=until,
        now_ms=now_ms,
        starts_ms=starts,
        kind=_text(body, "kind"),
        city=_text(body, "city"),
        rule_id=_text(body, "rule_id"),
        daily=_text(body, "daily"),
        timezone=_text(body, "timezone") or "UTC",
        created_by=actor,
        reason=_text(body, "reason", MAX_REASON),
    )


def silenced_by(incident: Mapping[str, Any], now_ms: int, silences: Iterable[Silence]) -> str | None:
    """The id of the silence holding this incident's outreach now, as outreach decides it."""
    silence = is_silenced(dict(incident), now_ms, silences)
    return silence.silence_id if silence is not None else None


def silenced_map(rows: Iterable[Mapping[str, Any]], now_ms: int, silences: list[Silence]) -> dict[str, str]:
    """incident_id -> silence_id for every row whose outreach is held now."""
    marks = {row["incident_id"]: silenced_by(row, now_ms, silences) for row in rows}
    return {incident_id: silence_id for incident_id, silence_id in marks.items() if silence_id}


def silence_json(silence: Silence, now_ms: int) -> dict[str, Any]:
    """The stored fields, plus `text` (the silence in words) and `active` (holding right now)."""
    fields = {f: getattr(silence, f) for f in silence.__struct_fields__}
    return {**fields, "text": describe(silence, now_ms), "active": silence.active(now_ms)}


def message(silences: list[Silence], rows: Iterable[Mapping[str, Any]], now_ms: int) -> dict[str, Any]:
    """What the board's browsers get: the silences, the marks, and when to ask again."""
    return {
        "type": "silences",
        "now": now_ms,
        "silences": [silence_json(s, now_ms) for s in silences],
        "silenced": silenced_map(rows, now_ms, silences),
        "next_change": next_change_ms(silences, now_ms),
    }


async def withdraw(redis: aioredis.Redis, silence_id: str) -> Silence | None:
    """End a silence; the silence that was removed, or None if there was none."""
    raw = await redis.hget(names.SILENCES, silence_id)
    if raw is None or not await remove(redis, silence_id):
        return None
    return decode(as_bytes(raw))


def _text(body: Mapping[str, Any], name: str, limit: int = MAX_FIELD) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SilenceError(f"{name}: expected text")
    if len(value) > limit:
        raise SilenceError(f"{name}: at most {limit} characters")
    return value.strip()


def _number(body: Mapping[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise SilenceError(f"{name}: expected a number (got {value!r})")
    return number


def _optional_int(body: Mapping[str, Any], name: str) -> int | None:
    value = _number(body, name)
    return None if value is None else int(value)
