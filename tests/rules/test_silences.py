"""Silences: by kind, city and rule; ad hoc or every night; expiring on time; kept in Redis."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import msgspec
import pytest
import redis.asyncio as aioredis

from core import names
from core.incidents import Incident
from rules.silences import SilenceError, in_force, is_silenced, new_silence, save, silence_for

BERLIN = "Europe/Berlin"


def utc(day: int, hour: int, minute: int = 0) -> int:
    return int(datetime(2026, 1, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


def berlin(day: int, hour: int, minute: int = 0) -> int:
    return utc(day, hour, minute) - 3600_000  # Berlin is UTC+1 in January


def incident(
    kind: str = "pickup_delay", city: str | None = "berlin", rule_id: str = "pickup-delay"
) -> Incident:
    return Incident(
        incident_id=f"o-1:{kind}",
        kind=kind,
        severity="medium",
        status="open",
        order_id="o-1",
        passenger_id="p-1",
        rule_id=rule_id,
        rule_version="v",
        trigger_ts=0,
        detected_at=0,
        summary="",
        details={},
        city=city,
    )


def test_ad_hoc_window_holds_only_between_start_and_end():
    storm = new_silence(
        kind="pickup_delay", city="berlin", starts_ms=utc(10, 12), until_ms=utc(10, 14), now_ms=utc(10, 11)
    )
    assert is_silenced(incident(), utc(10, 11, 59), [storm]) is None
    assert is_silenced(incident(), utc(10, 12), [storm]) == storm
    assert is_silenced(incident(), utc(10, 13, 59), [storm]) == storm
    assert is_silenced(incident(), utc(10, 14), [storm]) is None


def test_matching_by_kind_city_and_rule_with_wildcards():
    now = utc(10, 12)
    by_city = new_silence(city="hamburg", until_ms=now + 60_000, now_ms=now)
    by_rule = new_silence(rule_id="pickup-delay-vip", until_ms=now + 60_000, now_ms=now)
    assert is_silenced(incident(city="hamburg", kind="sos"), now, [by_city]) == by_city
    assert is_silenced(incident(city="berlin"), now, [by_city]) is None
    assert is_silenced(incident(rule_id="pickup-delay-vip"), now, [by_rule]) == by_rule
    assert (
        is_silenced({"kind": "pickup_delay", "city": "berlin", "rule_id": "pickup-delay"}, now, [by_rule])
        is None
    )


def test_recurring_nightly_window_in_local_time_across_days():
    nightly = new_silence(daily="02:00-05:00", timezone=BERLIN, until_ms=utc(20, 0), now_ms=utc(1, 0))
    assert is_silenced(incident(), berlin(10, 2, 0), [nightly]) == nightly
    assert is_silenced(incident(), berlin(11, 4, 59), [nightly]) == nightly
    assert is_silenced(incident(), berlin(11, 5, 0), [nightly]) is None
    assert is_silenced(incident(), berlin(11, 1, 59), [nightly]) is None
    assert is_silenced(incident(), berlin(21, 3, 0), [nightly]) is None  # the recurrence has ended


def test_a_window_may_cross_midnight():
    late = new_silence(daily="22:00-05:00", timezone=BERLIN, until_ms=utc(20, 0), now_ms=utc(1, 0))
    assert [bool(is_silenced(incident(), berlin(10, h), [late])) for h in (21, 22, 23, 0, 4, 5, 12)] == [
        False,
        True,
        True,
        True,
        True,
        False,
        False,
    ]


def test_bad_silences_are_refused_naming_the_field():
    with pytest.raises(SilenceError, match="^daily: expected HH:MM-HH:MM"):
        new_silence(daily="2-5", until_ms=utc(2, 0), now_ms=utc(1, 0))
    with pytest.raises(SilenceError, match="^until: "):
        new_silence(until_ms=utc(1, 0), now_ms=utc(1, 0))
    with pytest.raises(SilenceError, match="^timezone: unknown time zone 'Mars/Olympus'"):
        new_silence(timezone="Mars/Olympus", until_ms=utc(2, 0), now_ms=utc(1, 0))


@pytest.fixture
async def redis(redis_server, settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(settings.redis_dsn)
    yield client
    await client.aclose()


async def test_stored_in_redis_consulted_and_expiring_on_time(redis):
    # The real clock, not a fixed date: any other reader of the shared Redis purges silences
    # that are over by its own clock.
    now = int(time.time() * 1000)
    silence = new_silence(kind="long_stop", city="silence-test-city", until_ms=now + 60_000, now_ms=now)
    await save(redis, silence)
    target = incident(kind="long_stop", city="silence-test-city")
    assert await silence_for(redis, target, now + 59_999) == silence
    assert await silence_for(redis, target, now + 60_000) is None
    assert await redis.hget(names.SILENCES, silence.silence_id) is None  # expired: gone from Redis
    assert silence not in await in_force(redis, now)


async def test_the_boards_silence_records_are_read_too(redis):
    now = utc(10, 12)
    board_record = {
        "silence_id": "board-1",
        "kind": "trip_delay",
        "city": "*",
        "until_ms": now + 60_000,
        "created_by": "sam",
        "created_at": now,
        "reason": "stadium event",
    }
    await redis.hset(names.SILENCES, "board-1", msgspec.json.encode(board_record))
    try:
        found = await silence_for(redis, incident(kind="trip_delay", city="munich"), now)
        assert found is not None and found.silence_id == "board-1" and found.reason == "stadium event"
    finally:
        await redis.hdel(names.SILENCES, "board-1")
