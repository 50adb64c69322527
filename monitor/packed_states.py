"""A trip between its events, held packed: one `bytes` instead of some forty objects.

A decoded `TripState` is some forty objects (the struct, its timestamps, its places, the
driver's map, ...), about 3 KB a trip with its route. Between two events a trip needs
none of them, and at a city's rush hour 20,000 trips wait for their next ping at any moment.
So the worker packs every trip it is not using (`Monitor._pack_idle`, each deadline tick)
and unpacks one when an event, a deadline or a contact asks for it: under 1 KB a trip, for
a few microseconds per event.

The packed form is msgpack: the state's fields as one array (no field names), the route, the
pings and the event digests as the raw bytes they already are; the order id is left out (the
cache's key holds it). One `bytes` object, not one per part: each object costs a header, and
the part that would hold them all costs 64 bytes more. It is the worker's own and never leaves
the process: the `trips` changelog keeps its JSON (monitor.trip_state.encode_state), readable
both ways.
"""

from __future__ import annotations

import sys
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
# The fields, in order, as one typed array, decoded with the struct's own checks: in the order
# id's place nothing, in the route's its bytes and form, in the pings' their form and bytes, in
# the event ids' their digests.
_TYPES = [field.type for field in _FIELDS]
_TYPES[_ORDER_ID], _TYPES[_EVENT_IDS] = None, bytes
_TYPES[_ROUTE], _TYPES[_PINGS] = tuple[bytes, int], tuple[bool, bytes]
_VALUES: Any = tuple.__class_getitem__(tuple(_TYPES))

_ENCODER = msgspec.msgpack.Encoder()
_BUFFER = bytearray()  # reused by every `pack` (one thread: the worker's event loop)
_DECODER = msgspec.msgpack.Decoder(_VALUES)


# A packed `TripState`: its fields but the order id, as one msgpack array. Plain `bytes` (a
# subclass would cost a 16-byte GC header a trip): the `trips` table tells it from a state read
# back from the changelog, its JSON, by the first byte (`is_packed`).
PackedState = bytes
assert 16 <= len(_FIELDS) <= 0xFFFF  # so msgpack writes the array as "array 16": 0xDC first


def is_packed(value: bytes) -> bool:
    """Whether `value` is a packed state (a changelog's JSON state begins with "{")."""
    return value[:1] == b"\xdc"


def pack(state: TripState) -> PackedState:
    values = list(msgspec.structs.astuple(state))
    values[_ORDER_ID] = None
    values[_ROUTE] = state.route.packed()
    values[_PINGS] = state.pings.packed()
    values[_EVENT_IDS] = state.recent_event_ids.packed()
    for index in _MAPS_AT:
        if values[index] is NO_ENTRIES:
            values[index] = _EMPTY
    _ENCODER.encode_into(values, _BUFFER)
    return bytes(_BUFFER)  # exactly sized: msgspec's own result keeps its spare room


def unpack(packed: PackedState, order_id: str) -> TripState:
    """The state packed for `order_id`; the id is the one string the worker keeps for the trip."""
    values = list(_DECODER.decode(packed))
    values[_ORDER_ID] = sys.intern(order_id)
    values[_ROUTE] = Route.from_packed(*values[_ROUTE])
    values[_PINGS] = PingTrack.from_packed(*values[_PINGS])
    values[_EVENT_IDS] = RecentEventIds.from_packed(values[_EVENT_IDS])
    for index in _MAPS_AT:
        if not values[index]:
            values[index] = NO_ENTRIES
    return TripState(*values)
