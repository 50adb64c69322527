"""Deadlines wait until the trip's partition has been read past them (event time, not wall clock)."""

from __future__ import annotations

from monitor.watermarks import PartitionClocks
from tests.monitor.trips import Trip


def test_busy_partition_follows_the_events_read_idle_one_the_wall_clock():
    clocks = PartitionClocks(idle_ms=2_000)
    clocks.observe("telemetry", 3, ts=10_000, now_ms=15_000)  # read 5 s behind
    assert clocks.event_time(3, now_ms=15_500) == 10_000
    clocks.observe("telemetry", 3, ts=9_000, now_ms=15_600)  # a late event does not move it back
    assert clocks.event_time(3, now_ms=15_700) == 10_000
    assert clocks.event_time(3, now_ms=17_600) == 17_600  # nothing read for 2 s: the wall clock
    assert clocks.event_time(5, now_ms=1_000) == 1_000  # never seen: the wall clock
    clocks.observe("telemetry", 4, ts=99_000, now_ms=1_000)
    assert clocks.event_time(4, now_ms=1_500) == 1_500  # capped by the wall clock


def test_the_slowest_topic_of_a_partition_holds_its_event_time():
    clocks = PartitionClocks(idle_ms=2_000)
    clocks.observe("trip-events", 2, ts=100_000, now_ms=100_050)  # up to date
    clocks.observe("telemetry", 2, ts=40_000, now_ms=100_060)  # a minute behind (buffered)
    assert clocks.event_time(2, now_ms=100_100) == 40_000
    clocks.observe("trip-events", 2, ts=101_000, now_ms=101_000)
    # telemetry read nothing for 2 s: it holds nothing back any more
    assert clocks.event_time(2, now_ms=102_100) == 101_000


def test_after_a_rebalance_new_partitions_are_read_before_the_wall_clock_counts():
    clocks = PartitionClocks(idle_ms=2_000)
    clocks.restart(["trip-events", "telemetry"], {1, 2}, now_ms=50_000)
    assert clocks.event_time(1, now_ms=50_500) == 0
    clocks.observe("trip-events", 1, ts=50_400, now_ms=50_600)
    assert clocks.event_time(1, now_ms=50_700) == 0  # telemetry not read yet
    assert clocks.event_time(1, now_ms=52_000) == 50_400


def test_a_lagging_reader_does_not_fire_the_pickup_deadline_before_the_arrival_is_read():
    trip = Trip()
    trip.created(promised=300)
    trip.assigned()
    due = trip.processor.next_deadline(trip.state)
    assert due == trip.ts(300 + 120 + 1)
    # the wall clock is past the deadline, but the partition is read only up to 410 s
    assert trip.processor.on_clock(trip.state, due + 5_000, event_time_ms=trip.ts(410)).changes == []
    trip.trip("driver.arrived", 415)  # read at last: the driver was on time
    assert trip.processor.next_deadline(trip.state) is None
    assert trip.changes == []
