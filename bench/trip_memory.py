"""What one live trip costs the worker, without a broker: memory and the deadline tick.

    .venv/bin/python bench/trip_memory.py [--trips 1000 20000] [--pings 16]

Feeds each trip its order.created, driver.assigned, trip.started (a 50-point route) and
`--pings` GPS pings through the worker's own logic (TripProcessor) into what the worker
keeps per trip: its state, packed once the trip is judged as each deadline tick packs it
(monitor/packed_states.py), held by its cache and by the `trips` table's memory store
(monitor/trip_table.py), a deadline and its expiry time, its car in the traffic grid (each trip
in a place of its own) and its pings not yet checkpointed (monitor/unsaved.py). The events are 3 s apart in event
time (pings at one time would be one ping: a repeat). Prints the bytes per trip those hold
(tracemalloc) and the time a deadline tick takes with every trip's partition behind (the
worker under load: every deadline due on the wall clock, none in event time), which must not
grow with the trip count.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
import tracemalloc
from pathlib import Path

import msgspec
import orjson
from faust.types import TP

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pipeline  # noqa: E402  (bench/, on the path as the script's own directory)

from core import names  # noqa: E402
from core.clock import now_ms  # noqa: E402
from core.settings import Settings  # noqa: E402
from monitor.app import Monitor  # noqa: E402
from monitor.decoding import decode_event  # noqa: E402
from monitor.trip_table import MemoryTrips  # noqa: E402
from rules.loader import load_rule_dir  # noqa: E402

AGO_MS = 300_000  # the trips' events happened this long ago
AHEAD_MS = 3_600_000
PING_EVERY_MS = 3_000  # a trip's events, pings included, this far apart in event time
TELEMETRY_TPS = [TP(names.TELEMETRY, partition) for partition in range(64)]  # one per partition, as faust's


def trip_events(key: str, pings: int) -> list[tuple[str, bytes]]:
    far = now_ms() + 3_600_000
    events = [
        (names.TRIP_EVENTS, pipeline.order_created(key, far)),
        (
            names.TRIP_EVENTS,
            pipeline.trip_event(key, "driver.assigned", driver=pipeline.DRIVER, eta_pickup_ts=far),
        ),
        (
            names.TRIP_EVENTS,
            pipeline.trip_event(key, "trip.started", eta_dropoff_ts=far, route=pipeline.ROUTE),
        ),
    ]
    return events + [(names.TELEMETRY, pipeline.ping(key, n)) for n in range(pings)]


def placed(raw: bytes, n: int) -> bytes:
    """The event moved to trip `n`'s own place in the city (trips 1.1 km apart), so that each
    is a car of its own in the traffic grid (which holds at most 64 cars in one cell)."""
    dlat, dlon = (n % 200) * 0.01, (n // 200) * 0.01
    event = orjson.loads(raw)
    for place in (event, event.get("pickup"), event.get("dropoff")):
        if isinstance(place, dict) and "lat" in place:
            place["lat"], place["lon"] = round(place["lat"] + dlat, 6), round(place["lon"] + dlon, 6)
    if "route" in event:
        event["route"] = [[round(lat + dlat, 6), round(lon + dlon, 6)] for lat, lon in event["route"]]
    return orjson.dumps(event)


def hold(monitor: Monitor, trips: int, pings: int, prefix: str) -> None:
    for n in range(trips):
        hold_trip(monitor, n, pings, prefix)
        monitor._pack_idle()  # as each deadline tick does: the trip waits packed for its next event


def hold_trip(monitor: Monitor, n: int, pings: int, prefix: str) -> None:
    key = f"{prefix}-{n}"
    partition = n % monitor.settings.partitions
    state = monitor._state(key, partition)
    for index, (topic, raw) in enumerate(trip_events(key, pings)):
        event = decode_event(topic, placed(raw, n), monitor.limits, key=key.encode())
        event = msgspec.structs.replace(event, ts=event.ts - AGO_MS + index * PING_EVERY_MS)
        monitor.processor.on_event(state, event)
    monitor.trips[key.encode()] = state  # the table holds the state itself (monitor.trip_table)
    # its pings since the last checkpoint, held as of a while ahead: none comes overdue while
    # the tick is timed (a slow setup would make it time checkpoint writes, not the deadlines)
    monitor.unsaved.hold(key, TELEMETRY_TPS[partition], n, now_ms() + AHEAD_MS)
    # silent for AGO_MS: signal_lost is due on the wall clock, not in event time (the
    # partition is behind): the worker under load
    monitor.deadlines.push(monitor.processor.next_deadline(state) or 0, key)


async def measure(trips: int, pings: int) -> tuple[float, float]:
    settings = Settings(
        kafka_url="kafka://127.0.0.1:1", redis_url="redis://127.0.0.1:1/0", rules_dir=ROOT / "rules" / "pack"
    )
    monitor = Monitor(settings, load_rule_dir(settings.rules_dir))
    monitor.trips = MemoryTrips()  # the faust table's memory store: the same states as the cache
    monitor._highwater = lambda topic, partition: 10**9  # every partition far behind
    monitor._position = lambda topic, partition: None
    for partition in range(settings.partitions):  # each topic-partition read at offset 0 only
        for topic in names.INPUT_TOPICS:
            monitor.clocks.observe(topic, partition, 0, now_ms(), offset=0)
    try:
        hold(monitor, 10, pings, "warm")
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        hold(monitor, trips, pings, "trip")
        gc.collect()
        per_trip = (tracemalloc.get_traced_memory()[0] - before) / trips
        if "--top" in sys.argv:
            for stat in tracemalloc.take_snapshot().statistics("lineno")[:20]:
                print(stat)
        tracemalloc.stop()
        await monitor._tick()  # the first tick finds every deadline due
        started = time.perf_counter()
        for _ in range(20):
            await monitor._tick()
        tick_ms = (time.perf_counter() - started) / 20 * 1000
        return per_trip, tick_ms
    finally:
        await monitor.redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trips", type=int, nargs="+", default=[1_000, 20_000])
    parser.add_argument("--pings", type=int, default=16)
    parser.add_argument("--top", action="store_true", help="where the memory goes")
    args = parser.parse_args()
    for trips in args.trips:
        per_trip, tick_ms = asyncio.run(measure(trips, args.pings))
        print(f"{trips:6d} trips: memory per active trip: {per_trip:.0f} B; deadline tick {tick_ms:.2f} ms")


if __name__ == "__main__":
    main()
