"""Strict decoding of input messages: bytes in, a contract model or a readable reason out."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import msgspec

from monitor import models, names

_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    names.TRIP_EVENTS: msgspec.json.Decoder(models.AnyTripEvent),
    names.TELEMETRY: msgspec.json.Decoder(models.TelemetryPing),
    names.PAYMENTS: msgspec.json.Decoder(models.PaymentEvent),
    names.SAFETY_SIGNALS: msgspec.json.Decoder(models.SafetySignal),
    names.PASSENGERS: msgspec.json.Decoder(models.Passenger),
}

DAY_MS = 86_400_000


class BadEvent(ValueError):
    """A message that breaks the contract; `str(error)` is the reason for a person."""


@dataclass(frozen=True)
class DecodeLimits:
    max_bytes: int
    max_age_ms: int
    max_future_ms: int


def decode_event(topic: str, raw: bytes | None, limits: DecodeLimits, now_ms: int | None = None):
    """Decode one message of an input topic, or raise `BadEvent` saying why not."""
    decoder = _DECODERS.get(topic)
    if decoder is None:
        raise BadEvent(f"topic {topic!r} is not an input topic of the contract")
    _check_bytes(raw, limits.max_bytes)
    try:
        event = decoder.decode(raw)
    except msgspec.ValidationError as error:
        raise BadEvent(_plain(str(error))) from None
    except msgspec.DecodeError as error:
        raise BadEvent(f"not JSON: {error}") from None
    if topic != names.PASSENGERS:
        _check_event(event, limits, now_ms if now_ms is not None else int(time.time() * 1000))
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


def _check_event(event: Any, limits: DecodeLimits, now_ms: int) -> None:
    if not event.order_id:
        raise BadEvent("order_id is empty - at `$.order_id`")
    if event.ts < 0:
        raise BadEvent(f"ts {event.ts} is negative: expected milliseconds since the epoch")
    if event.ts < now_ms - limits.max_age_ms:
        days = (now_ms - event.ts) // DAY_MS
        raise BadEvent(f"ts {event.ts} is {days} days in the past: absurd for a live event")
    if event.ts > now_ms + limits.max_future_ms:
        raise BadEvent(f"ts {event.ts} is {(event.ts - now_ms) // 1000} s in the future")


def _plain(message: str) -> str:
    """msgspec says `Object missing required field`; people read 'missing field'."""
    return message.replace("Object missing required field", "missing required field")
