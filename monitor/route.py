"""A planned route held compactly: one flat run of numbers, read as `(lat, lon)` pairs.

A trip's route (50 points, say) as a list of tuples of floats costs about 5 KB of objects;
as one `bytes` of doubles it costs 16 bytes a point, as 32-bit integers of 1e-7 degree 8
bytes a point, and as the steps between points in 16-bit integers (the first point in 32 bits)
4 bytes a point. The integers are used when they give every coordinate back exactly (any
coordinate with at most 7 decimals, as routing engines write them: the integer divided by 1e7
is the double nearest that decimal, the same the JSON parser made), the steps when each is
within 3.2 mm of a degree (about 360 m, a city's routes), doubles otherwise. It reads like the
list it replaces (indexing, iteration, `len`, equality with a list of pairs), and is written to
the `trips` table as the same JSON list of pairs (`encode_hook`/`decode_hook`), so stored states
stay readable both ways.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable, Iterator, Sequence
from enum import IntEnum
from itertools import accumulate
from typing import Any, cast, overload

LatLon = tuple[float, float]
SCALE = 10_000_000.0  # 1e-7 degree: about 1 cm; |lon| <= 180 fits a 32-bit integer
_FIRST = struct.Struct("<ii")  # the first point of a route held as steps
_STEP = 32_767
_INT32 = 2**31 - 1


def exact_int32(value: float, scale: float) -> int | None:
    """`value` as a 32-bit integer of 1/scale, when dividing it by `scale` gives `value` back
    exactly (a decimal of few enough digits, as the JSON parser read it); else None."""
    if not abs(value) * scale <= _INT32:  # also for NaN and infinities
        return None
    scaled = round(value * scale)
    return scaled if scaled / scale == value else None


class Form(IntEnum):
    """How a route's bytes hold its points."""

    DOUBLES = 0  # lat, lon as doubles
    INTEGERS = 1  # lat, lon as 32-bit integers of 1e-7 degree
    STEPS = 2  # the first point as INTEGERS, then each point less the one before, in 16 bits


class Route(Sequence[LatLon]):
    # One immutable `bytes`: a packed trip (monitor.packed_states) holds a copy of it.
    __slots__ = ("_raw", "_form")

    def __init__(self, points: Iterable[Sequence[float]] = ()) -> None:
        flat = [float(value) for lat, lon in points for value in (lat, lon)]
        self._raw, self._form = _packed(flat)

    def _columns(self) -> tuple[list[float], list[float]]:
        """The latitudes and the longitudes, each in order (lists, for speed: a route is read whole
        for every ping judged against it)."""
        raw = memoryview(self._raw)
        if self._form == Form.DOUBLES:
            doubles = raw.cast("d")
            return cast(list[float], doubles[0::2].tolist()), cast(list[float], doubles[1::2].tolist())
        if self._form == Form.INTEGERS:
            ints = raw.cast("i")
            lats, lons = ints[0::2], ints[1::2]
        elif raw:
            lat, lon = _FIRST.unpack_from(raw)
            steps = raw[_FIRST.size :].cast("h")
            lats, lons = accumulate(steps[0::2], initial=lat), accumulate(steps[1::2], initial=lon)  # type: ignore[assignment]
        else:
            return [], []
        return [n / SCALE for n in lats], [n / SCALE for n in lons]

    def __len__(self) -> int:
        if self._form == Form.STEPS:
            return (len(self._raw) - _FIRST.size) // 4 + 1 if self._raw else 0  # 4 bytes a point after
        return len(self._raw) // (16 if self._form == Form.DOUBLES else 8)

    @overload
    def __getitem__(self, index: int) -> LatLon: ...
    @overload
    def __getitem__(self, index: slice) -> list[LatLon]: ...
    def __getitem__(self, index: int | slice) -> LatLon | list[LatLon]:
        if isinstance(index, slice):
            return list(self)[index]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("route index out of range")
        lats, lons = self._columns()  # a whole read: a route is rarely read a point at a time
        return (lats[index], lons[index])

    def __iter__(self) -> Iterator[LatLon]:
        return zip(*self._columns(), strict=True)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Route):
            return list(self) == list(other)
        if isinstance(other, Sequence):
            return list(self) == [tuple(p) for p in other]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like the list it replaces

    def __repr__(self) -> str:
        return f"Route({list(self)!r})"

    def __sizeof__(self) -> int:
        return object.__sizeof__(self) + self._raw.__sizeof__()

    def packed(self) -> tuple[bytes, Form]:
        """The coordinates' bytes and their form (monitor.packed_states): no copy."""
        return self._raw, self._form

    @classmethod
    def from_packed(cls, raw: bytes, form: int) -> Route:
        route = cls.__new__(cls)  # not __init__: nothing to convert
        route._raw, route._form = raw, Form(form)
        return route


def _packed(flat: list[float]) -> tuple[bytes, Form]:
    """Steps when they fit, else 32-bit integers of 1e-7 degree when they give back every value
    exactly, else doubles."""
    scaled = [exact_int32(value, SCALE) for value in flat]
    if None in scaled:
        return array("d", flat).tobytes(), Form.DOUBLES
    ints = cast(list[int], scaled)
    # each coordinate less the same coordinate a point before
    steps = [now - before for before, now in zip(ints, ints[2:], strict=False)]
    if ints and all(-_STEP <= step <= _STEP for step in steps):
        return _FIRST.pack(ints[0], ints[1]) + array("h", steps).tobytes(), Form.STEPS
    return array("i", ints).tobytes(), Form.INTEGERS


def encode_hook(value: Any) -> Any:
    """msgspec `enc_hook`: a Route is written as a list of `[lat, lon]` pairs."""
    if isinstance(value, Route):
        return [list(point) for point in value]
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


def decode_hook(kind: type, value: Any) -> Any:
    """msgspec `dec_hook`: a list of pairs read back as a Route."""
    if kind is Route:
        return Route(value)
    raise NotImplementedError(f"cannot decode {kind.__name__}")
