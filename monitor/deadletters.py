"""Dead letters: a rejected message with its original bytes, where it came from and why."""

from __future__ import annotations

import base64
from typing import Any

import msgspec


class DeadLetter(msgspec.Struct, kw_only=True, frozen=True):
    topic: str
    partition: int
    offset: int
    reason: str
    original_b64: str
    key_b64: str | None
    rejected_at: int  # wall-clock ms


def dead_letter(
    topic: str, partition: int, offset: int, key: bytes | None, raw: bytes | None, reason: str, now_ms: int
) -> DeadLetter:
    return DeadLetter(
        topic=topic,
        partition=partition,
        offset=offset,
        reason=reason,
        original_b64=base64.b64encode(raw or b"").decode(),
        key_b64=base64.b64encode(key).decode() if key is not None else None,
        rejected_at=now_ms,
    )


def encode(letter: DeadLetter) -> bytes:
    return msgspec.json.encode(letter)


def decode(raw: bytes) -> DeadLetter:
    return msgspec.json.decode(raw, type=DeadLetter)


def original_bytes(letter: DeadLetter) -> bytes:
    return base64.b64decode(letter.original_b64)


def as_dict(letter: DeadLetter) -> dict[str, Any]:
    return msgspec.to_builtins(letter)
