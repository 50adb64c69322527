"""The token bucket per provider (notifiers/ratelimit.py) and the dispatcher's use of it.

The bucket's arithmetic is checked with a hand clock passed into the Redis script; the
dispatchers are measured with the wall clock, two of them sharing the buckets as two
outreach processes do, sends counted and timed at the fake FCM.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import msgspec
import pytest
import redis.asyncio as aioredis

from core import names
from core.settings import Settings
from notifiers.cases import CaseStore
from notifiers.dispatcher import RESENT, Dispatcher
from notifiers.model import OutboundMessage
from notifiers.outbox import queue_message
from notifiers.ratelimit import Limit, TokenBuckets, limits_from
from notifiers.registry import build_notifiers
from tests.notifiers.fakes import Providers


def outbound(n: int, channel: str, priority: str = "normal") -> OutboundMessage:
    recipient = f"+1555{n:07d}" if channel == "sms" else f"token-{n}"
    return OutboundMessage(
        message_id=f"rl-{priority}-{n}",
        incident_id=f"rl-{n}:pickup_delay",
        case_id=None,
        step="open",
        priority=priority,  # type: ignore[arg-type]
        channels=[channel],
        recipients={channel: recipient},
        title="Late",
        body=f"Message {n}",
    )


async def enqueue(redis: aioredis.Redis, messages: list[OutboundMessage], due_ms: int) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        for message in messages:
            queue_message(pipe, message, due_ms)
        await pipe.execute()


async def test_a_burst_then_the_rate_to_the_millisecond(redis) -> None:
    buckets = TokenBuckets(redis, {"sms": Limit(rate=4, burst=3)}, critical_reserve=0)
    assert [await buckets.take("sms", 0) for _ in range(3)] == [0, 0, 0]
    # Empty: one token comes every 250 ms; each waiting message gets the next free slot.
    assert [await buckets.take("sms", 0) for _ in range(3)] == [250, 500, 750]
    assert await buckets.take("sms", 249, critical=True) == 1  # critical takes no slot
    assert await buckets.take("sms", 250) == 0
    assert await buckets.take("sms", 500) == 0 and await buckets.take("sms", 750) == 0
    assert await buckets.take("sms", 750) == 250  # 4 per second: not a fifth within the second
    fast = TokenBuckets(redis, {"push": Limit(rate=1000, burst=1)}, critical_reserve=0)
    assert await fast.take("push", 10_000) == 0
    assert await fast.take("push", 10_000, critical=True) == 1
    assert await fast.take("push", 10_001) == 0  # one millisecond refills one token at 1000/s


async def test_slots_above_a_thousand_per_second_share_milliseconds(redis) -> None:
    buckets = TokenBuckets(redis, {"push": Limit(rate=4000, burst=8)}, critical_reserve=0)
    assert [await buckets.take("push", 0) for _ in range(8)] == [0] * 8
    assert [await buckets.take("push", 0) for _ in range(8)] == [1, 2, 2, 2, 2, 3, 3, 3]  # 4 per ms
    assert [await buckets.take("push", 2) for _ in range(5)] == [0] * 5  # those due by 2 ms all go


async def test_a_full_bucket_holds_no_more_than_burst_after_idling(redis) -> None:
    buckets = TokenBuckets(redis, {"sms": Limit(rate=10, burst=2)}, critical_reserve=0)
    assert await buckets.take("sms", 0) == 0
    idle = 3_600_000  # an hour idle refills to the burst, not to 36,000
    assert [await buckets.take("sms", idle) for _ in range(3)] == [0, 0, 100]


async def test_critical_messages_take_the_reserve_and_never_borrow(redis) -> None:
    buckets = TokenBuckets(redis, {"sms": Limit(rate=2, burst=3)}, critical_reserve=1)
    assert [await buckets.take("sms", 0) for _ in range(2)] == [0, 0]
    assert await buckets.take("sms", 0) == 500  # one left, but normal needs two (one plus the reserve)
    assert await buckets.take("sms", 0, critical=True) == 0  # the reserved token
    assert await buckets.take("sms", 0, critical=True) == 500  # the bucket is empty: no borrowing
    tiny = TokenBuckets(redis, {"push": Limit(rate=1, burst=1)}, critical_reserve=5)
    assert await tiny.take("push", 0) == 0  # a reserve never starves normal messages completely


async def test_a_clock_behind_the_bucket_adds_no_tokens(redis) -> None:
    buckets = TokenBuckets(redis, {"sms": Limit(rate=1, burst=1)}, critical_reserve=0)
    assert await buckets.take("sms", 10_000) == 0
    assert await buckets.take("sms", 5_000, critical=True) == 1000  # another process, 5 s behind
    assert await buckets.take("sms", 10_500, critical=True) == 500


def test_burst_defaults_to_the_rate(outreach_settings: Settings) -> None:
    limits = limits_from(outreach_settings.replace(rate_twilio_per_s=7, rate_fcm_per_s=9, rate_fcm_burst=2))
    assert limits["sms"] == Limit(rate=7, burst=7) and limits["push"] == Limit(rate=9, burst=2)


async def test_the_dispatcher_postpones_by_exactly_the_wait(outreach_settings, redis, http, clock, providers):
    settings = outreach_settings.replace(rate_twilio_per_s=4, rate_twilio_burst=1, rate_critical_reserve=0)
    dispatcher = Dispatcher(settings, redis, build_notifiers(settings, http), clock)
    start = clock()
    await enqueue(redis, [outbound(n, "sms") for n in range(3)], start)
    while await dispatcher.run_once():
        pass
    assert len(providers.sms) == 1
    due = sorted(score for _, score in await redis.zrange(names.OUTBOX_NORMAL, 0, -1, withscores=True))
    assert due == [start + 250, start + 500]  # the next token, then the slot after it
    clock.advance(0.25)
    assert await dispatcher.run_once() and len(providers.sms) == 2
    assert not await dispatcher.run_once()  # the third is not due before its slot


async def test_an_interrupted_push_is_sent_again_once_and_its_case_says_so(
    outreach_settings, redis, http, clock, providers
) -> None:
    settings = outreach_settings.replace(rate_fcm_per_s=1, rate_critical_reserve=0)
    dispatcher = Dispatcher(settings, redis, build_notifiers(settings, http), clock)
    assert await dispatcher.buckets.take("push", clock()) == 0  # another message took the token
    message = msgspec.structs.replace(outbound(1, "push"), case_id="case-1", status="sending")
    await enqueue(redis, [message], clock())  # as a sender that died mid-request left it
    assert await dispatcher.run_once() and not providers.push  # no token yet: postponed
    saved = await dispatcher.outbox.get(message.message_id)
    assert saved is not None and saved.status == "queued"  # the decision to re-send is kept
    clock.advance(1)
    assert await dispatcher.run_once() and len(providers.push) == 1
    sent = await dispatcher.outbox.get(message.message_id)
    assert sent is not None and sent.status == "sent"
    assert sum(a.detail.startswith(RESENT) for a in sent.history) == 1  # asked once, not at every claim
    texts = [e.text for e in await CaseStore(redis).timeline("case-1")]
    assert texts == [
        "open message sent by push (re-sent after an interrupted send; FCM cannot be asked, the device shows it once)"
    ]


async def test_critical_overtakes_a_backlog_at_once(outreach_settings, redis, http, clock, providers) -> None:
    settings = outreach_settings.replace(rate_twilio_per_s=5)  # burst 5, reserve 1 (the defaults)
    dispatcher = Dispatcher(settings, redis, build_notifiers(settings, http), clock)
    await enqueue(redis, [outbound(n, "sms") for n in range(40)], clock())
    while len(providers.sms) < 10:
        while await dispatcher.run_once():
            pass
        clock.advance(0.1)
    urgent = outbound(99, "sms", priority="critical")
    await enqueue(redis, [urgent], clock())
    assert await dispatcher.run_once()
    assert providers.sms[-1]["to"] == urgent.recipients["sms"]  # sent at once: no wait, no backlog
    assert await dispatcher.outbox.pending() >= 25  # the backlog still waits its turn


async def run_dispatchers(dispatchers: list[Dispatcher], providers: Providers, count: int) -> float:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(d.run(stop)) for d in dispatchers]
    started = time.monotonic()
    try:
        while len(providers.push) < count and time.monotonic() - started < 30:
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    return time.monotonic() - started


def most_in_a_window(arrivals_ms: list[float], span_ms: float) -> int:
    """The largest number of arrivals within any window of `span_ms` (windows start at an arrival)."""
    arrivals = sorted(arrivals_ms)
    best, last = 0, 0
    for first in range(len(arrivals)):
        last = max(last, first)
        while last + 1 < len(arrivals) and arrivals[last + 1] - arrivals[first] <= span_ms:
            last += 1
        best = max(best, last - first + 1)
    return best


@pytest.mark.timeout(60)
async def test_two_processes_never_exceed_burst_plus_rate_and_reach_the_rate(
    outreach_settings, redis, providers
) -> None:
    rate, burst, count = 20, 5, 65
    settings = outreach_settings.replace(
        rate_fcm_per_s=rate, rate_fcm_burst=burst, outreach_concurrency=4, outreach_tick_s=0.02
    )
    messages = [outbound(n, "push") for n in range(count)]
    await enqueue(redis, messages, int(time.time() * 1000))
    async with aiohttp.ClientSession() as one, aiohttp.ClientSession() as two:
        dispatchers = [
            Dispatcher(settings, redis, build_notifiers(settings, session), lambda: int(time.time() * 1000))
            for session in (one, two)
        ]
        elapsed = await run_dispatchers(dispatchers, providers, count)
    assert len(providers.push) == count and len({m["token"] for m in providers.push}) == count
    stored = [await dispatchers[0].outbox.get(m.message_id) for m in messages]
    granted = {m.message_id: m.attempt_started_at or 0 for m in stored if m is not None}
    arrived = {
        m["data"]["message_id"]: at * 1000 for m, at in zip(providers.push, providers.push_at, strict=True)
    }
    # Arrival lags the grant; a window of arrivals holds the grants of a window that much longer.
    lag_ms = max(arrived[i] - granted[i] for i in arrived)
    assert 0 <= lag_ms < 1000, lag_ms
    times = list(arrived.values())
    for span_ms in (0, 50, 100, 250, 500, 1000, 2000):
        allowed = burst + rate * (span_ms + lag_ms) / 1000
        assert most_in_a_window(times, span_ms) <= allowed, (span_ms, lag_ms)
    # Throughput: after the first burst, the configured rate (generous bound for a loaded machine).
    steady = sorted(times)[burst:]
    achieved = (len(steady) - 1) / ((steady[-1] - steady[0]) / 1000)
    assert achieved >= 0.6 * rate, achieved
    # Waiting messages are spread over slots, not all refused again at every token.
    refusals = sum(d.buckets.refusals for d in dispatchers)
    assert refusals <= 3 * count, refusals
    print(f"{count} pushes in {elapsed:.2f} s, {achieved:.1f}/s after the burst (limit {rate}/s, burst {burst}),"
          f" lag {lag_ms:.1f} ms, {refusals} refusals")  # fmt: skip
