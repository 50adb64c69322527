"""A trip's recent pings held compactly: one `bytes` of packed records, read as `Ping`s.

Sixteen pings as structs cost about 3 KB of objects (each a struct, an int and four floats);
packed they cost 40 bytes a ping. The track reads like the list it replaces (indexing, slices,
iteration, `len`) and is written to the `trips` table as the same JSON list of
`[ts, lat, lon, speed_kmh, accuracy_m]` (`encode_hook`/`decode_hook` in monitor.route), so
stored states stay readable both ways. Kept immutable and exactly sized: a change builds the
next `bytes` (a few hundred bytes copied, once per ping).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

import msgspec

LatLon = tuple[float, float]
_RECORD = struct.Struct("<qdddd")  # ts, lat, lon, speed_kmh, accuracy_m (NaN: not given)
_SIZE = _RECORD.size


class Ping(msgspec.Struct, array_like=True, gc=False):  # holds no containers: not GC-tracked
    ts: int
    lat: float
    lon: float
    speed_kmh: float
    accuracy_m: float | None = None

    @property
    def point(self) -> LatLon:
        return (self.lat, self.lon)


def _pack(ping: Ping) -> bytes:
    accuracy = math.nan if ping.accuracy_m is None else ping.accuracy_m
    return _RECORD.pack(ping.ts, ping.lat, ping.lon, ping.speed_kmh, accuracy)


def _ping(ts: int, lat: float, lon: float, speed_kmh: float, accuracy_m: float) -> Ping:
    return Ping(ts, lat, lon, speed_kmh, None if math.isnan(accuracy_m) else accuracy_m)


class PingTrack(Sequence[Ping]):
    """Pings in time order, oldest first."""

    __slots__ = ("_packed",)

    def __init__(self, pings: Iterable[Ping | Sequence[object]] = ()) -> None:
        self._packed = b"".join(_pack(p if isinstance(p, Ping) else Ping(*p)) for p in pings)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self._packed) // _SIZE

    @overload
    def __getitem__(self, index: int) -> Ping: ...
    @overload
    def __getitem__(self, index: slice) -> list[Ping]: ...
    def __getitem__(self, index: int | slice) -> Ping | list[Ping]:
        if isinstance(index, slice):
            return list(self)[index]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("ping index out of range")
        return _ping(*_RECORD.unpack_from(self._packed, index * _SIZE))

    def __iter__(self) -> Iterator[Ping]:
        return (_ping(*fields) for fields in _RECORD.iter_unpack(self._packed))

    def times(self) -> list[int]:
        """Each ping's `ts`, oldest first."""
        return [fields[0] for fields in _RECORD.iter_unpack(self._packed)]

    def insert(self, index: int, ping: Ping) -> None:
        at = index * _SIZE
        self._packed = self._packed[:at] + _pack(ping) + self._packed[at:]

    def keep_newest(self, count: int) -> None:
        """Forget all but the newest `count` pings."""
        if len(self) > count:
            self._packed = self._packed[-count * _SIZE :] if count else b""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PingTrack):
            return self._packed == other._packed
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like the list it replaces

    def __repr__(self) -> str:
        return f"PingTrack({list(self)!r})"

    def __sizeof__(self) -> int:
        return object.__sizeof__(self) + self._packed.__sizeof__()

    def packed(self) -> bytes:
        """The packed records themselves (monitor.packed_states)."""
        return self._packed

    @classmethod
    def from_packed(cls, raw: bytes) -> PingTrack:
        track = cls.__new__(cls)
        track._packed = raw
        return track


def encode_hook(value: object) -> list[Ping]:
    """msgspec `enc_hook` part: a track is written as the list of its pings."""
    if isinstance(value, PingTrack):
        return list(value)
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


def decode_hook(kind: type, value: object) -> PingTrack:
    """msgspec `dec_hook` part: a list of `[ts, lat, lon, speed_kmh, accuracy_m]` read back as a track."""
    if kind is PingTrack and isinstance(value, list):
        return PingTrack(value)
    raise NotImplementedError(f"cannot decode {kind.__name__}")
