"""Redis replies narrowed at the boundary: redis-py types them `bytes | str` (str only when a client
decodes responses), so readers say which one they hold instead of guessing."""

from __future__ import annotations

from typing import Any


def as_bytes(reply: Any) -> bytes:
    """A reply as bytes (a decoding client gives str: it is encoded back)."""
    if isinstance(reply, bytes):
        return reply
    if isinstance(reply, str):
        return reply.encode()
    raise TypeError(f"not a Redis string reply: {type(reply).__name__}")


def as_text(reply: Any) -> str:
    """A reply as str."""
    if isinstance(reply, str):
        return reply
    if isinstance(reply, bytes):
        return reply.decode()
    raise TypeError(f"not a Redis string reply: {type(reply).__name__}")


def maybe_bytes(reply: Any) -> bytes | None:
    """A reply that may be missing (nil), as bytes or None."""
    return None if reply is None else as_bytes(reply)
