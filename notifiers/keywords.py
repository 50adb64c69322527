"""Carrier keywords (STOP, START, HELP) on the inbound SMS webhook.

Twilio's Advanced Opt-Out (on by default) answers these itself and blocks a number that sent
STOP until it sends START: any SMS to it fails with error 21610. Tripwatch mirrors that state so
that it plans around it: a number that said STOP gets no SMS (the next channel of the passenger's
order, usually push, takes its place) until it says START. The state is kept per phone number
(`tw:sms-opt-out:<phone>`), as Twilio keeps it, not in the passenger directory: the `passengers`
topic is the platform's, and its next record for that passenger would undo a change written there.
Tripwatch sends no reply of its own (Twilio's would come too): the reply webhook answers empty.
A keyword is the whole message, trimmed, in any case, as Twilio matches them.
"""

from __future__ import annotations

from typing import Literal

import msgspec
import redis.asyncio as aioredis

from core import names
from core.models import Passenger

Keyword = Literal["stop", "start", "help"]
WORDS: dict[Keyword, frozenset[str]] = {
    "stop": frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "стоп", "退订"}),
    "start": frozenset({"start", "yes", "unstop"}),
    "help": frozenset({"help", "info"}),
}


def keyword_of(text: str) -> Keyword | None:
    said = text.strip().strip(".!").lower()
    return next((word for word, spellings in WORDS.items() if said in spellings), None)


async def opt_out(redis: aioredis.Redis, phone: str, now_ms: int) -> bool:
    """True when this changed anything (a repeated STOP does not)."""
    return bool(await redis.set(names.SMS_OPT_OUT + phone, now_ms, nx=True))


async def opt_in(redis: aioredis.Redis, phone: str) -> bool:
    return bool(await redis.delete(names.SMS_OPT_OUT + phone))


async def with_opt_outs(redis: aioredis.Redis, passenger: Passenger) -> Passenger:
    """The passenger as outreach plans for them: a phone that said STOP is an opted-out SMS."""
    if not passenger.phone or "sms" in passenger.opted_out:
        return passenger
    if not await redis.exists(names.SMS_OPT_OUT + passenger.phone):
        return passenger
    return msgspec.structs.replace(passenger, opted_out=[*passenger.opted_out, "sms"])
