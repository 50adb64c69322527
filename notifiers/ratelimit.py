"""A token bucket per provider in Redis, shared by every outreach process.

Each channel has a bucket of `burst` tokens refilled at `rate` tokens per second, kept in
milli-tokens so that one millisecond of refill is exact integer arithmetic. A send takes one
token; without one, the script answers how many milliseconds until a token is free and the
dispatcher postpones the message by exactly that. Over any window of `t` seconds a provider
therefore gets at most `burst + rate * t` requests, from all processes together.

Critical messages never borrow beyond the bucket: the provider's limit is real, and a 429
would cost a safety message a retry with backoff, far longer than the wait for the next
token. Instead normal messages leave the last `reserve` tokens alone, so a critical message
finds a token at once even behind a backlog of any size (and critical messages are claimed
first anyway).

Waiting normal messages are spread: each refusal hands out the next free slot, one token
period after the previous one, so a backlog of ten thousand does not all come back at the
same millisecond to be refused again. Critical messages take no slot; they wait only for
the next token.

The caller passes its clock (milliseconds). A clock behind the bucket's last update adds no
tokens, so clock skew between processes can slow sending but never exceed the limit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis.asyncio as aioredis

from core import names
from core.settings import Settings
from notifiers.registry import NOTIFIERS

log = logging.getLogger(__name__)

# KEYS[1] bucket; ARGV: now ms, rate per s, capacity, tokens needed, takes a slot (1/0).
# Returns 0 (go: a token was taken) or the milliseconds to wait. Stored: `tokens` (milli-tokens),
# `at` (ms of the last update), `ahead` (how far past `at` the next free slot lies, fractional
# ms, so that slots of a rate above 1,000/s do not round to whole milliseconds).
TAKE = """
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local capacity = tonumber(ARGV[3]) * 1000
local need = tonumber(ARGV[4]) * 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'ahead')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
local slot = at + (tonumber(state[3]) or 0)
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate)
  at = now
end
local wait = 0
if tokens >= need then
  tokens = tokens - 1000
else
  wait = math.ceil((need - tokens) / rate)
  if ARGV[5] == '1' then
    local due = math.max(now + wait, slot)
    slot = due + 1000 / rate
    wait = math.ceil(due - now)
  end
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', at, 'ahead', math.max(0, slot - at))
local full_in = math.ceil((capacity - tokens) / rate)
redis.call('PEXPIRE', KEYS[1], math.max(full_in, math.ceil(slot - now)) + 1000)
return wait
"""


@dataclass(frozen=True)
class Limit:
    """`rate` requests per second on average, at most `burst` at once."""

    rate: int
    burst: int


DEFAULT_LIMIT = Limit(rate=10, burst=10)


def limits_from(settings: Settings) -> dict[str, Limit]:
    """Each channel's limit; a burst of 0 means the per-second rate."""
    limits = {}
    for channel, notifier in NOTIFIERS.items():
        rate = getattr(settings, f"rate_{notifier.provider}_per_s")
        burst = getattr(settings, f"rate_{notifier.provider}_burst")
        limits[channel] = Limit(rate, burst or rate)
    return limits


def bucket_key(channel: str) -> str:
    return names.RATE + channel


class TokenBuckets:
    """One bucket per channel; `take` asks for a token for one request."""

    def __init__(self, redis: aioredis.Redis, limits: dict[str, Limit], critical_reserve: int) -> None:
        self.redis = redis
        self.limits = limits
        self.critical_reserve = critical_reserve
        self._take = redis.register_script(TAKE)
        self.refusals = 0  # takes that had to wait, in this process (a figure for tests and metrics)

    async def take(self, channel: str, now_ms: int, critical: bool = False) -> int:
        """0 when a token was taken (send now), else the milliseconds until one is free."""
        limit = self.limits.get(channel, DEFAULT_LIMIT)
        reserve = 0 if critical else min(self.critical_reserve, limit.burst - 1)
        args = [now_ms, limit.rate, limit.burst, 1 + reserve, 0 if critical else 1]
        wait_ms = int(await self._take(keys=[bucket_key(channel)], args=args))
        if wait_ms:
            self.refusals += 1
            log.debug("rate limit on %s: wait %d ms", channel, wait_ms)
        return wait_ms
