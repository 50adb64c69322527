"""A planned route held compactly: one flat run of numbers, read as `(lat, lon)` pairs.

A trip's route (50 points, say) as a list of tuples of floats costs about 5 KB of objects;
as one `bytes` of doubles it costs 16 bytes a point, and as 32-bit integers of 1e-7 degree 8
bytes a point. The integers are used when they give every coordinate back exactly (any coordinate
with at most 7 decimals, as routing engines write them: the integer divided by 1e7 is the
double nearest that decimal, the same the JSON parser made), doubles otherwise. It reads like the list it replaces
(indexing, iteration, `len`, equality with a list of pairs), and is written to the `trips`
table as the same JSON list of pairs (`encode_hook`/`decode_hook`), so stored states stay
readable both ways.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

LatLon = tuple[float, float]
SCALE = 10_000_000.0  # 1e-7 degree: about 1 cm; |lon| <= 180 fits a 32-bit integer


class Route(Sequence[LatLon]):
    # One immutable `bytes` (read through a memoryview): a packed trip (monitor.packed_states)
    # holds this very object, so packing and unpacking a trip neither copy nor re-allocate it.
    __slots__ = ("_raw", "_scale")

    def __init__(self, points: Iterable[Sequence[float]] = ()) -> None:
        flat = [float(value) for lat, lon in points for value in (lat, lon)]
        coords, self._scale = _packed(flat)
        self._raw = coords.tobytes()

    @property
    def _coords(self) -> memoryview[int] | memoryview[float]:
        return memoryview(self._raw).cast("i" if self._scale == SCALE else "d")

    def __len__(self) -> int:
        return len(self._raw) // (8 if self._scale == SCALE else 16)

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
        coords, scale = self._coords, self._scale
        return (coords[2 * index] / scale, coords[2 * index + 1] / scale)

    def __iter__(self) -> Iterator[LatLon]:
        scale = self._scale
        coords = (value / scale for value in self._coords)
        return zip(coords, coords, strict=True)

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

    def packed(self) -> tuple[bytes, float]:
        """The coordinates' bytes and their scale (monitor.packed_states): no copy."""
        return self._raw, self._scale

    @classmethod
    def from_packed(cls, raw: bytes, scale: float) -> Route:
        route = cls.__new__(cls)  # not __init__: nothing to convert
        route._raw, route._scale = raw, scale
        return route


def _packed(flat: list[float]) -> tuple[array[int] | array[float], float]:
    """32-bit integers of 1e-7 degree when they give back every value exactly, else doubles."""
    if all(abs(value) <= 180.0 for value in flat):  # also False for NaN
        ints = [round(value * SCALE) for value in flat]
        if all(n / SCALE == value for n, value in zip(ints, flat, strict=True)):
            return array("i", ints), SCALE
    return array("d", flat), 1.0


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
