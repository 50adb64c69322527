"""A trip between its events, held packed: a few `bytes` instead of some forty objects.

A decoded `TripState` is some forty objects (the struct, its timestamps, its places, the
driver's map, ...), about 3 KB a trip with its route. Between two events a trip needs
none of them, and at a city's rush hour 20,000 trips wait for their next ping at any moment.
So the worker packs every trip it is not using (`Monitor._pack_idle`, each deadline tick)
and unpacks one when an event, a deadline or a contact asks for it: about 1 KB a trip, for
a few microseconds per event.

The packed form is msgpack: the state's fields as one array (no field names), the event digests
as their raw bytes; the route and the pings stay the `bytes` objects they already are. It is
the worker's own and never leaves the process: the `trips` changelog keeps its JSON
(monitor.trip_state.encode_state), readable both ways.
"""

from __future__ import annotations

from typing import Any

import msgspec

from monitor.event_ids import RecentEventIds
from monitor.pings import PingTrack
from monitor.route import Route
from monitor.trip_state import NO_ENTRIES, TripState

_FIELDS = msgspec.structs.fields(TripState)
_NAMES = [field.name for field in _FIELDS]
_ORDER_ID, _ROUTE, _PINGS, _EVENT_IDS = (
    _NAMES.index(name) for name in ("order_id", "route", "pings", "recent_event_ids")
)
# The maps whose default is the shared empty map: unpacked empty, they get it back (an empty
# dict of their own in every trip would cost 64 B each)
_MAPS_AT = tuple(index for index, field in enumerate(_FIELDS) if field.default is NO_ENTRIES)
_EMPTY: dict[str, Any] = {}  # packed in NO_ENTRIES' place; only ever encoded
# The fields, in order, as one typed array, decoded with the struct's own checks: in the route's
# place its scale, in the order id's and the pings' nothing (kept as their own objects), the
# event ids' digests.
_TYPES = [field.type for field in _FIELDS]
_TYPES[_ORDER_ID], _TYPES[_ROUTE], _TYPES[_PINGS], _TYPES[_EVENT_IDS] = None, float, None, bytes
_VALUES: Any = tuple.__class_getitem__(tuple(_TYPES))

_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(_VALUES)


class PackedState:
    """A packed `TripState`: its order id, the route's and the pings' bytes, the very objects
    the decoded state held (no copy either way: one id string per trip, however often it is
    packed), and the rest as one msgpack array."""

    __slots__ = ("order_id", "route", "pings", "rest")

    def __init__(self, order_id: str, route: bytes, pings: bytes, rest: bytes) -> None:
        self.order_id, self.route, self.pings, self.rest = order_id, route, pings, rest

    def __sizeof__(self) -> int:
        parts = (self.route, self.pings, self.rest)
        return object.__sizeof__(self) + sum(part.__sizeof__() for part in parts)


def pack(state: TripState) -> PackedState:
    values = list(msgspec.structs.astuple(state))
    values[_ORDER_ID] = None
    route, values[_ROUTE] = state.route.packed()
    pings, values[_PINGS] = state.pings.packed(), None
    values[_EVENT_IDS] = state.recent_event_ids.packed()
    for index in _MAPS_AT:
        if values[index] is NO_ENTRIES:
            values[index] = _EMPTY
    return PackedState(state.order_id, route, pings, _ENCODER.encode(values))


def unpack(packed: PackedState) -> TripState:
    values = list(_DECODER.decode(packed.rest))
    values[_ORDER_ID] = packed.order_id
    values[_ROUTE] = Route.from_packed(packed.route, values[_ROUTE])
    values[_PINGS] = PingTrack.from_packed(packed.pings)
    values[_EVENT_IDS] = RecentEventIds.from_packed(values[_EVENT_IDS])
    for index in _MAPS_AT:
        if not values[index]:
            values[index] = NO_ENTRIES
    return TripState(*values)
