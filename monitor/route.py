"""A planned route held compactly: one flat array of doubles, read as `(lat, lon)` pairs.

A trip's route (50 points, say) as a list of tuples of floats costs about 5 KB of objects;
as one `array('d')` it costs 16 bytes a point. It reads like the list it replaces
(indexing, iteration, `len`, equality with a list of pairs), and is written to the `trips`
table as the same JSON list of pairs (`encode_hook`/`decode_hook`), so stored states stay
readable both ways.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

LatLon = tuple[float, float]


class Route(Sequence[LatLon]):
    __slots__ = ("_coords",)

    def __init__(self, points: Iterable[Sequence[float]] = ()) -> None:
        coords = array("d")
        for lat, lon in points:
            coords.append(lat)
            coords.append(lon)
        self._coords = coords

    def __len__(self) -> int:
        return len(self._coords) // 2

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
        return (self._coords[2 * index], self._coords[2 * index + 1])

    def __iter__(self) -> Iterator[LatLon]:
        coords = iter(self._coords)
        return zip(coords, coords, strict=True)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Route):
            return self._coords == other._coords
        if isinstance(other, Sequence):
            return list(self) == [tuple(p) for p in other]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like the list it replaces

    def __repr__(self) -> str:
        return f"Route({list(self)!r})"

    def __sizeof__(self) -> int:
        return object.__sizeof__(self) + self._coords.__sizeof__()


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
