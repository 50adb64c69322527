"""The `trips` table: trip states in memory, their encoded bytes only on the changelog.

faust's memory store keeps whatever a table is given. Given the encoded state, it held a
second copy of every live trip beside the worker's decoded one (about 1.8 KB a trip, a third
of what a trip cost). This table is given the decoded `TripState`, the same object the
worker's cache holds, and encodes it for the changelog only; a changelog read back (a
restart, a rebalance) is stored as bytes and decoded when the worker first asks for the
state. A state changed after its last write differs from its changelog entry until the next
write, as the cache always did: only the changelog counts after a restart.
"""

from __future__ import annotations

from typing import Any

import faust

from monitor.packed_states import PackedState, is_packed, unpack
from monitor.trip_state import TripState, decode_state, encode_state


class TripStore:
    """What the worker asks of the `trips` table's memory store (`data`): the faust table below,
    and `MemoryTrips`, the same over a plain dict for the worker's logic without faust."""

    data: Any

    def trip(self, key: bytes) -> TripState | None:
        """The trip's state. One read back from the changelog is stored as its bytes (a standby
        copy stays that small) and decoded here, then kept decoded (no changelog write)."""
        value = self.peek(key)
        if value is not None:
            self.data[key] = value
        return value

    def peek(self, key: bytes) -> TripState | None:
        """The trip's state, decoded if need be, the store left as it is."""
        value = self.data.get(key)
        if isinstance(value, bytes):
            return unpack(value, key.decode()) if is_packed(value) else decode_state(value)
        return value  # type: ignore[no-any-return]

    def holds(self, key: bytes, value: object) -> bool:
        """Whether the store holds this very object for `key`."""
        return self.data.get(key) is value

    def keep_unpacked(self, key: bytes, was: object, now: TripState | PackedState) -> None:
        """The worker packed or unpacked the state the store holds (`was`): store the same
        object the worker's cache now holds, so that a trip is held once. No changelog write:
        it is the same state."""
        if self.data.get(key) is was:
            self.data[key] = now

    def keep(self, key: bytes, state: TripState) -> None:
        """Store `state` (decoded by `peek`) for `key`: no changelog write."""
        self.data[key] = state


class TripTable(TripStore, faust.Table):  # type: ignore[misc]  # faust's classes are untyped
    def on_key_set(self, key: Any, value: Any) -> None:
        """The changelog gets the encoded state (the store keeps the object; the worker packs
        it between the trip's events, monitor.packed_states)."""
        super().on_key_set(key, encode_state(value) if isinstance(value, TripState) else value)


class MemoryTrips(TripStore, dict[bytes, Any]):
    """The store's part of the `trips` table over a plain dict, no changelog (bench/trip_memory.py
    and tests run the worker's logic without a broker)."""

    @property
    def data(self) -> dict[bytes, Any]:  # type: ignore[override]
        return self


def trips_table(app: faust.App, partitions: int, schema: faust.Schema) -> TripTable:
    """The `trips` table on `app`, registered as `app.Table` would."""
    table = TripTable(
        app,
        name="trips",
        default=None,
        beacon=app.tables.beacon,
        partitions=partitions,
        use_partitioner=True,
        schema=schema,
        # without these faust reads its own changelog back as JSON on recovery, and fails
        key_type=bytes,
        value_type=bytes,
    )
    app.tables.add(table)
    return table
