"""Trips between their events are held packed (monitor/packed_states.py): nothing of the state is
lost, and the worker never packs a trip something still uses."""

from __future__ import annotations

import sys

from core.settings import Settings
from monitor.app import Monitor
from monitor.event_ids import RecentEventIds
from monitor.packed_states import PackedState, is_packed, pack, unpack
from monitor.pings import Ping, PingTrack
from monitor.route import Route
from monitor.trip_state import (
    NO_ENTRIES,
    OffRoute,
    OpenMark,
    PaymentFailure,
    Stop,
    TrafficSample,
    TripState,
    encode_state,
)
from monitor.trip_table import MemoryTrips
from rules.loader import load_rule_dir
from tests.monitor.trips import PACK


def busy_trip() -> TripState:
    ids = RecentEventIds()
    for n in range(5):
        ids.remember(f"event-{n}", 256)
    return TripState(
        order_id="o-packed",
        partition=3,
        passenger_id="p1",
        city="berlin",
        pickup=(52.5, 13.4),
        dropoff=(52.6, 13.5),
        pickup_address="Alexanderplatz 1",
        promised_pickup_ts=1_000,
        driver={"id": "d1", "name": "Anna", "plate": "B-AB 123", "car": None},
        started_ts=2_000,
        route=Route([(52.5, 13.4), (52.123456, 13.1234567)]),
        route_at=2_000,
        driver_cancel_ts=(1_500,),
        failures=(PaymentFailure(ts=3_000, payment_id="pay1", code="insufficient_funds", attempt=2),),
        captures={"pay2": 3_100},
        refunds=("pay3",),
        pings=PingTrack([Ping(2_500, 52.5, 13.4, 30.0, 5.0), Ping(2_600, 52.51, 13.41, 0.0, None)]),
        last_ping_ts=2_600,
        off_route={"route-deviation": OffRoute(since_ts=2_500, ping_ts=[2_500, 2_600], max_distance_m=410.5)},
        stops={"long-stop": Stop(since_ts=2_550, anchor=(52.51, 13.41), last_ts=2_600, on_route=True)},
        traffic=TrafficSample(2_600, 4, 3),
        last_event_ts=2_600,
        deadlines={"signal-lost": 92_600},
        fired={"pickup-delay": 1_000},
        open_incidents={"pickup_delay": OpenMark("warning", 1_000)},
        recent_event_ids=ids,
    )


def test_a_packed_trip_unpacks_to_the_same_state():
    for state in (
        busy_trip(),
        TripState(order_id="o-new"),
        TripState(order_id="o-doubles", route=Route([(1e-9, 200.5)])),
    ):
        again = unpack(pack(state), state.order_id)
        assert again == state
        assert again.recent_event_ids == state.recent_event_ids  # not compared by ==: digests
    again = unpack(pack(busy_trip()), "o-packed")
    assert "event-4" in again.recent_event_ids and "event-5" not in again.recent_event_ids
    assert list(again.route) == [(52.5, 13.4), (52.123456, 13.1234567)]


def test_a_packed_trip_is_one_bytes_and_keeps_the_one_id_string_and_the_shared_empty_maps():
    state = busy_trip()
    state.stops = {}  # emptied by a detector: a dict of its own
    packed = pack(state)
    assert type(packed) is bytes and is_packed(packed) and not is_packed(encode_state(state))
    again = unpack(packed, "".join(["o-", "packed"]))  # an equal string, not the trip's own
    assert again.order_id is sys.intern(state.order_id)
    assert again.route.packed() == state.route.packed() and again.pings.packed() == state.pings.packed()
    assert again.stops is NO_ENTRIES and again.off_route == state.off_route
    assert sys.getsizeof(packed) < 0.5 * deep_size(state)


def deep_size(state: TripState) -> int:
    seen: set[int] = set()

    def size(value: object) -> int:
        if id(value) in seen:
            return 0
        seen.add(id(value))
        total = sys.getsizeof(value)
        if isinstance(value, dict):
            total += sum(size(k) + size(v) for k, v in value.items())
        elif isinstance(value, list | tuple):
            total += sum(size(v) for v in value)
        elif hasattr(value, "__struct_fields__"):
            total += sum(size(getattr(value, name)) for name in value.__struct_fields__)
        return total

    return size(state)


async def test_the_worker_packs_idle_trips_and_never_one_in_use(tmp_path):
    settings = Settings(kafka_url="kafka://127.0.0.1:1", redis_url="redis://127.0.0.1:1/0", data_dir=tmp_path)
    monitor = Monitor(settings, load_rule_dir(PACK))
    try:
        monitor.trips = MemoryTrips()
        idle = monitor._state("o-idle", 1)
        idle.last_event_ts = 5_000
        monitor.trips[b"o-idle"] = idle  # written to the table: the table holds the same object
        busy = monitor._state("o-busy", 2)
        del idle
        monitor._pack_idle()

        assert type(monitor.cache["o-idle"]) is PackedState
        assert monitor.trips[b"o-idle"] is monitor.cache["o-idle"]  # still held once
        assert monitor.cache["o-busy"] is busy  # a coroutine, say, still has it: not packed

        busy.last_event_ts = 7_000  # its change is not lost ...
        del busy
        monitor._pack_idle()  # ... when it is packed at the next tick
        assert type(monitor.cache["o-busy"]) is PackedState
        assert monitor._cached_state("o-busy").last_event_ts == 7_000

        unpacked = monitor._cached_state("o-idle")
        assert unpacked.last_event_ts == 5_000 and monitor.cache["o-idle"] is unpacked
        assert monitor.trips[b"o-idle"] is unpacked
        assert monitor._peek("o-busy") is monitor.cache["o-busy"]  # unpacked already
    finally:
        await monitor.redis.aclose()


def test_the_table_tells_a_packed_state_from_one_read_back_from_the_changelog():
    trips = MemoryTrips()
    state = busy_trip()
    trips[b"o-json"] = encode_state(state)  # as a restart restores it
    trips[b"o-packed"] = pack(state)  # as the worker's tick leaves it
    assert trips.peek(b"o-json") == state
    assert trips.peek(b"o-packed") == state and trips.peek(b"o-packed").order_id == "o-packed"
    assert trips.trip(b"o-json") == state and type(trips[b"o-json"]) is TripState  # kept decoded
