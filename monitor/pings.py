"""A trip's recent pings held compactly: one `bytes` of packed records, read as `Ping`s.

Sixteen pings as structs cost about 3 KB of objects (each a struct, an int and four floats).
Packed, a ping costs 20 bytes: its time as milliseconds after the track's first (a 32-bit
integer: 24 days either way), its place in 1e-7 degree, its speed and accuracy in thousandths,
as 32-bit integers. That form is used while every value comes back exactly from it (places
with at most 7 decimals, speeds and accuracies with at most 3, as a phone writes them: the
integer divided by its scale is the double nearest that decimal, the one the JSON parser made);
a track with any other value is kept as doubles, 40 bytes a ping (`_WIDE`). The track reads like
the list it replaces (indexing, slices, iteration, `len`) and is written to the `trips` table as
the same JSON list of `[ts, lat, lon, speed_kmh, accuracy_m]` (`encode_hook`/`decode_hook`), so
stored states stay readable both ways. Kept immutable and exactly sized: a change builds the
next `bytes` (a few hundred bytes copied, once per ping).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

import msgspec

from monitor.route import SCALE, exact_int32

LatLon = tuple[float, float]
_WIDE = struct.Struct("<qdddd")  # ts, lat, lon, speed_kmh, accuracy_m (NaN: not given)
_BASE = struct.Struct("<q")  # a compact track begins with its base time ...
_COMPACT = struct.Struct("<iiiii")  # ... then: ts - base, lat, lon, speed, accuracy, scaled
_THOUSANDTH = 1_000.0
_INT32 = 2**31 - 1
_NOT_GIVEN = -(2**31)  # a compact accuracy that was not given


class Ping(msgspec.Struct, array_like=True, gc=False):  # holds no containers: not GC-tracked
    ts: int
    lat: float
    lon: float
    speed_kmh: float
    accuracy_m: float | None = None

    @property
    def point(self) -> LatLon:
        return (self.lat, self.lon)


def _wide(ping: Ping) -> bytes:
    accuracy = math.nan if ping.accuracy_m is None else ping.accuracy_m
    return _WIDE.pack(ping.ts, ping.lat, ping.lon, ping.speed_kmh, accuracy)


def _from_wide(ts: int, lat: float, lon: float, speed_kmh: float, accuracy_m: float) -> Ping:
    return Ping(ts, lat, lon, speed_kmh, None if math.isnan(accuracy_m) else accuracy_m)


def _compact(ping: Ping, base: int) -> bytes | None:
    """The ping's compact record in a track based at `base`, or None when it has none."""
    lat, lon = exact_int32(ping.lat, SCALE), exact_int32(ping.lon, SCALE)
    speed = exact_int32(ping.speed_kmh, _THOUSANDTH)
    accuracy = _NOT_GIVEN if ping.accuracy_m is None else exact_int32(ping.accuracy_m, _THOUSANDTH)
    offset = ping.ts - base
    if lat is None or lon is None or speed is None or accuracy is None or not -_INT32 <= offset <= _INT32:
        return None
    return _COMPACT.pack(offset, lat, lon, speed, accuracy)


def _from_compact(base: int, offset: int, lat: int, lon: int, speed: int, accuracy: int) -> Ping:
    given = None if accuracy == _NOT_GIVEN else accuracy / _THOUSANDTH
    return Ping(base + offset, lat / SCALE, lon / SCALE, speed / _THOUSANDTH, given)


def _packed(pings: list[Ping]) -> tuple[bytes, bool]:
    """The pings' records and whether they are compact."""
    if not pings:
        return b"", True
    base = pings[0].ts
    records = [_compact(ping, base) for ping in pings]
    if all(record is not None for record in records):
        return _BASE.pack(base) + b"".join(records), True  # type: ignore[arg-type]
    return b"".join(_wide(ping) for ping in pings), False


class PingTrack(Sequence[Ping]):
    """Pings in time order, oldest first."""

    __slots__ = ("_packed", "_compact")

    def __init__(self, pings: Iterable[Ping | Sequence[object]] = ()) -> None:
        listed = [p if isinstance(p, Ping) else Ping(*p) for p in pings]  # type: ignore[arg-type]
        self._packed, self._compact = _packed(listed)

    def __len__(self) -> int:
        if self._compact:
            return max(0, len(self._packed) - _BASE.size) // _COMPACT.size
        return len(self._packed) // _WIDE.size

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
        if self._compact:
            base = _BASE.unpack_from(self._packed)[0]
            return _from_compact(
                base, *_COMPACT.unpack_from(self._packed, _BASE.size + index * _COMPACT.size)
            )
        return _from_wide(*_WIDE.unpack_from(self._packed, index * _WIDE.size))

    def __iter__(self) -> Iterator[Ping]:
        if not self._compact:
            return (_from_wide(*fields) for fields in _WIDE.iter_unpack(self._packed))
        if not self._packed:
            return iter(())
        base = _BASE.unpack_from(self._packed)[0]
        records = _COMPACT.iter_unpack(memoryview(self._packed)[_BASE.size :])
        return (_from_compact(base, *fields) for fields in records)

    def times(self) -> list[int]:
        """Each ping's `ts`, oldest first."""
        if not self._compact:
            return [fields[0] for fields in _WIDE.iter_unpack(self._packed)]
        if not self._packed:
            return []
        base = _BASE.unpack_from(self._packed)[0]
        return [base + fields[0] for fields in _COMPACT.iter_unpack(memoryview(self._packed)[_BASE.size :])]

    def insert(self, index: int, ping: Ping) -> None:
        if self._compact:
            if not self._packed:
                self._packed = _BASE.pack(ping.ts)
            record = _compact(ping, _BASE.unpack_from(self._packed)[0])
            if record is not None:
                at = _BASE.size + index * _COMPACT.size
                self._packed = self._packed[:at] + record + self._packed[at:]
                return
            self._packed, self._compact = b"".join(_wide(p) for p in self), False  # widened for good
        at = index * _WIDE.size
        self._packed = self._packed[:at] + _wide(ping) + self._packed[at:]

    def keep_newest(self, count: int) -> None:
        """Forget all but the newest `count` pings."""
        if len(self) <= count:
            return
        if not count:
            self._packed = b""
        elif self._compact:  # the base stays: the records' offsets are from it
            self._packed = self._packed[: _BASE.size] + self._packed[-count * _COMPACT.size :]
        else:
            self._packed = self._packed[-count * _WIDE.size :]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like the list it replaces

    def __repr__(self) -> str:
        return f"PingTrack({list(self)!r})"

    def __sizeof__(self) -> int:
        return object.__sizeof__(self) + self._packed.__sizeof__()

    def packed(self) -> tuple[bool, bytes]:
        """Whether the records are compact, and the records themselves (monitor.packed_states)."""
        return self._compact, self._packed

    @classmethod
    def from_packed(cls, compact: bool, raw: bytes) -> PingTrack:
        track = cls.__new__(cls)
        track._packed, track._compact = raw, compact
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
