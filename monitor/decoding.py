"""Strict decoding of input messages: bytes in, a contract model or a readable reason out.

`decode_event` raises `BadEvent` and nothing else, whatever the bytes: a poison message
must become a dead letter, never a crashed agent. The value rules (id shapes, coordinate
and amount ranges, route length) are declared on the models (`core.models`); this
module checks what needs the message around the body: its size, encoding, nesting,
key, and the event time against the wall clock.
"""

from __future__ import annotations

import enum
import re
import time
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import msgspec

from core import models, names

_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    names.TRIP_EVENTS: msgspec.json.Decoder(models.AnyTripEvent),
    names.TELEMETRY: msgspec.json.Decoder(models.TelemetryPing),
    names.PAYMENTS: msgspec.json.Decoder(models.PaymentEvent),
    names.SAFETY_SIGNALS: msgspec.json.Decoder(models.SafetySignal),
    names.PASSENGERS: msgspec.json.Decoder(models.Passenger),
}
# The message key each topic is partitioned by (the contract's co-partitioning).
KEY_FIELDS = {topic: "order_id" for topic in names.INPUT_TOPICS} | {names.PASSENGERS: "passenger_id"}

DAY_MS = 86_400_000
# Contract events nest three levels deep (`$.route[0][1]`); msgspec itself gives up near
# the interpreter's recursion limit, at a depth that depends on the caller's stack.
MAX_DEPTH = 32
MAX_REASON_CHARS = 500  # a reason may quote a value; a 1 MB value must not make a 1 MB reason


class BadEvent(ValueError):
    """A message that breaks the contract; `str(error)` is the reason for a person."""


class KeyCheck(enum.Enum):
    SKIP = "skip"  # callers with no Kafka message around the body (replays, dry runs, tests)


@dataclass(frozen=True)
class DecodeLimits:
    max_bytes: int
    max_age_ms: int
    max_future_ms: int


def decode_event(
    topic: str,
    raw: bytes | None,
    limits: DecodeLimits,
    now_ms: int | None = None,
    *,
    key: bytes | None | KeyCheck = KeyCheck.SKIP,
) -> Any:
    """Decode one message of an input topic, or raise `BadEvent` saying why not.

    `key` is the Kafka message key: it must be the body's `order_id` (`passenger_id` on
    `passengers`); `None` (no key) is a bad event. Leave it out only where there is no
    message around the body. Nothing but `BadEvent` ever leaves this function.
    """
    try:
        return _decode(topic, raw, limits, now_ms, key)
    except BadEvent as error:
        raise BadEvent(bounded(str(error))) from None
    except RecursionError:
        raise BadEvent("nested too deeply for the decoder: not a contract event") from None
    except Exception as error:  # whatever breaks here, it is this message's fault
        raise BadEvent(bounded(f"could not be decoded: {type(error).__name__}: {error}")) from None


def bounded(reason: str) -> str:
    """Cut a long reason in the middle: the head says what, the tail names the path."""
    if len(reason) <= MAX_REASON_CHARS:
        return reason
    head, tail = MAX_REASON_CHARS * 3 // 5, MAX_REASON_CHARS * 2 // 5 - 40  # 40: room for the marker
    return f"{reason[:head]} …[{len(reason) - head - tail} characters cut]… {reason[-tail:]}"


def _decode(topic: str, raw: bytes | None, limits: DecodeLimits, now_ms: int | None, key: Any) -> Any:
    decoder = _DECODERS.get(topic)
    if decoder is None:
        raise BadEvent(f"topic {topic!r} is not an input topic of the contract")
    _check_bytes(raw, limits.max_bytes)
    _check_depth(raw)
    try:
        event = decoder.decode(raw)
    except msgspec.ValidationError as error:
        raise BadEvent(_plain(str(error))) from None
    except msgspec.DecodeError as error:
        raise BadEvent(f"not JSON: {error}") from None
    if key is not KeyCheck.SKIP:
        _check_key(topic, event, key)
    if topic != names.PASSENGERS:
        _check_time(event.ts, limits, now_ms if now_ms is not None else int(time.time() * 1000))
    return event


def _check_bytes(raw: bytes | None, max_bytes: int) -> None:
    if raw is None or len(raw) == 0:
        raise BadEvent("empty message: expected one JSON object")
    if len(raw) > max_bytes:
        raise BadEvent(f"message is {len(raw)} bytes, over the limit of {max_bytes}")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadEvent(f"not valid UTF-8: byte {error.start} cannot be decoded") from None


_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
# A string runs to its closing quote, or to the end of the bytes when it has none: every
# match succeeds once started, so the scan stays linear (a plain `"..."` pattern retries
# from every escaped quote of an unterminated string: quadratic, seconds on 64 KB).
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _check_depth(raw: bytes) -> None:
    # Fast path, two C-level counts: fewer openers than the limit cannot nest deeper.
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = max(accumulate(map(_STEP.__getitem__, brackets)), default=0)
    if depth > MAX_DEPTH:
        raise BadEvent(f"nested {depth} levels deep, over the limit of {MAX_DEPTH}: not a contract event")


def _check_key(topic: str, event: Any, key: bytes | None) -> None:
    field = KEY_FIELDS[topic]
    expected: str = getattr(event, field)
    if key is None:
        raise BadEvent(f"message has no key: expected the {field} {expected!r} - at `$.{field}`")
    if key != expected.encode():
        shown = _shown(key, 140)
        raise BadEvent(f"message key {shown} is not the {field} {expected!r} - at `$.{field}`")


def _shown(value: bytes, limit: int) -> str:
    shown = repr(value[:limit])
    return shown if len(value) <= limit else f"{shown}… ({len(value)} bytes)"


def _check_time(ts: int, limits: DecodeLimits, now_ms: int) -> None:
    if ts < 0:
        raise BadEvent(f"ts {ts} is negative: expected milliseconds since the epoch")
    if ts < now_ms - limits.max_age_ms:
        days = (now_ms - ts) // DAY_MS
        raise BadEvent(f"ts {ts} is {days} days in the past: absurd for a live event")
    if ts > now_ms + limits.max_future_ms:
        raise BadEvent(f"ts {ts} is {(ts - now_ms) // 1000} s in the future")


_PLAIN_WORDS = (
    # msgspec's words for the declared rules, in the words of the contract
    ("Object missing required field", "missing required field"),
    ("Expected `str` of length >= 1", "Expected a non-empty id"),
    (
        f"Expected `str` of length <= {models.MAX_ID_CHARS}",
        f"Expected an id of at most {models.MAX_ID_CHARS} characters",
    ),
    (
        f"Expected `str` matching regex {models.ID_PATTERN!r}",
        "Expected an id without control characters or ':'",
    ),
    ("Expected `array` of length >= 2", "Expected a route of at least two points"),
)


def _plain(message: str) -> str:
    for said, meant in _PLAIN_WORDS:
        message = message.replace(said, meant)
    return message
