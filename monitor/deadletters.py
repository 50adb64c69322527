"""Dead letters: a rejected message with its original bytes, where it came from and why.

A dead letter must never be lost itself, so it always fits the producer's request limit
(aiokafka's default `max_request_size` is 1,048,576 bytes, and base64 inflates by 4/3):
an original over `MAX_ORIGINAL_BYTES` keeps only its first bytes, with its size and
sha256 to recognise it; the key and the reason are bounded too.
"""

from __future__ import annotations

import base64
import hashlib

import msgspec

MAX_ORIGINAL_BYTES = 256 * 1024  # whole up to 4x the default max_event_bytes
MAX_KEY_BYTES = 1024
MAX_REASON_CHARS = 2000
# What `encode` can produce at most (asserted by the tests): far below the 1 MiB limit.
MAX_LETTER_BYTES = 512 * 1024


class DeadLetter(msgspec.Struct, kw_only=True, frozen=True):
    topic: str
    partition: int
    offset: int
    reason: str
    original_b64: str  # the first MAX_ORIGINAL_BYTES of the original when `truncated`
    key_b64: str | None
    rejected_at: int  # wall-clock ms
    # Letters written before these fields existed lack them: optional, with defaults.
    original_size: int | None = None  # bytes of the whole original
    original_sha256: str | None = None  # hex digest of the whole original
    truncated: bool = False
    key_truncated: bool = False


def dead_letter(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    raw: bytes | None,
    reason: str,
    now_ms: int,
    *,
    max_original_bytes: int = MAX_ORIGINAL_BYTES,
) -> DeadLetter:
    original = raw or b""
    kept = original[:max_original_bytes]
    return DeadLetter(
        topic=topic,
        partition=partition,
        offset=offset,
        reason=bounded_reason(reason),
        original_b64=base64.b64encode(kept).decode(),
        key_b64=base64.b64encode(bounded_key(key)).decode() if key is not None else None,
        rejected_at=now_ms,
        original_size=len(original),
        original_sha256=hashlib.sha256(original).hexdigest(),
        truncated=len(kept) < len(original),
        key_truncated=key is not None and len(key) > MAX_KEY_BYTES,
    )


def bounded_key(key: bytes | None) -> bytes | None:
    """The original key cut to MAX_KEY_BYTES: also the key to send the letter under."""
    return key[:MAX_KEY_BYTES] if key is not None else None


def bounded_reason(reason: str) -> str:
    """At most MAX_REASON_CHARS, cut in the middle (the tail names the JSON path), and encodable."""
    # a lone surrogate (from bytes decoded with surrogateescape) cannot be JSON-encoded
    reason = reason.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(reason) > MAX_REASON_CHARS:
        half = MAX_REASON_CHARS // 2 - 20  # 40: room for the marker
        reason = f"{reason[:half]} …[{len(reason) - 2 * half} characters cut]… {reason[-half:]}"
    return reason


def encode(letter: DeadLetter) -> bytes:
    return msgspec.json.encode(letter)


def decode(raw: bytes) -> DeadLetter:
    return msgspec.json.decode(raw, type=DeadLetter)


def original_bytes(letter: DeadLetter) -> bytes:
    """The original as kept: all of it unless `letter.truncated`."""
    return base64.b64decode(letter.original_b64)
