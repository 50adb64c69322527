"""The event ids a trip has seen lately, for de-duplication: 8-byte digests, not the strings.

An event id is a string of the producer's choosing (often 40-60 bytes as an object); its
64-bit BLAKE2b digest is 8 bytes in one packed `bytes`, oldest first, at most the window's
worth. Two different ids of one trip share a digest with odds of about 1 in 10^14 within a
256-id window: a redelivery check, not a security boundary. Stored in the `trips` table as a
JSON list of signed 64-bit ints; a state written before (a list of id strings) reads back too.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

_DIGEST = struct.Struct("<q")
_SIZE = _DIGEST.size


def digest(event_id: str) -> bytes:
    return hashlib.blake2b(event_id.encode(), digest_size=_SIZE).digest()


class RecentEventIds:
    """Digests of the latest event ids, oldest first."""

    __slots__ = ("_digests",)

    def __init__(self, ids: Iterable[str | int] = ()) -> None:
        self._digests = b"".join(digest(i) if isinstance(i, str) else _DIGEST.pack(i) for i in ids)

    def remember(self, event_id: str, window: int) -> bool:
        """Record `event_id`, keeping the latest `window`; False when it is among them already."""
        seen = digest(event_id)
        if self._holds(seen):
            return False
        self._digests = (self._digests + seen)[-window * _SIZE :]
        return True

    def __contains__(self, event_id: object) -> bool:
        return isinstance(event_id, str) and self._holds(digest(event_id))

    def _holds(self, seen: bytes) -> bool:
        at = self._digests.find(seen)
        while at != -1 and at % _SIZE:  # found across two digests: look on
            at = self._digests.find(seen, at + 1)
        return at != -1

    def __len__(self) -> int:
        return len(self._digests) // _SIZE

    def as_ints(self) -> list[int]:
        return [value for (value,) in _DIGEST.iter_unpack(self._digests)]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RecentEventIds):
            return self._digests == other._digests
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RecentEventIds({len(self)} digests)"

    def packed(self) -> bytes:
        """The digests themselves (monitor.packed_states)."""
        return self._digests

    @classmethod
    def from_packed(cls, raw: bytes) -> RecentEventIds:
        ids = cls.__new__(cls)
        ids._digests = raw
        return ids


def encode_hook(value: object) -> list[int]:
    """msgspec `enc_hook` part: the digests as signed 64-bit ints."""
    if isinstance(value, RecentEventIds):
        return value.as_ints()
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


def decode_hook(kind: type, value: object) -> RecentEventIds:
    """msgspec `dec_hook` part: ints (digests) or, from an older state, the id strings."""
    if kind is RecentEventIds and isinstance(value, list):
        return RecentEventIds(value)
    raise NotImplementedError(f"cannot decode {kind.__name__}")
