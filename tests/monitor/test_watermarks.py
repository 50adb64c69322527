"""A topic-partition holds its partition's event time back while it is behind, not while it is quiet."""

from __future__ import annotations

from monitor.watermarks import PartitionClocks


def highwaters(marks: dict[tuple[str, int], int]):
    return lambda topic, partition: marks.get((topic, partition))


def test_a_behind_topic_holds_the_partition_back_however_long_it_reads_nothing():
    clocks = PartitionClocks(idle_ms=2_000)
    clocks.observe("trip-events", 2, ts=100_000, now_ms=100_050, offset=9)
    clocks.observe("telemetry", 2, ts=40_000, now_ms=100_060, offset=499)
    marks = {("trip-events", 2): 10, ("telemetry", 2): 2_000}  # 1,500 pings wait unread
    # 30 s without reading telemetry: still behind, so still the minimum
    assert clocks.event_time(2, now_ms=130_000, highwater=highwaters(marks)) == 40_000


def test_a_topic_read_up_to_its_high_water_mark_is_idle_at_once():
    clocks = PartitionClocks(idle_ms=2_000)
    clocks.observe("trip-events", 2, ts=100_000, now_ms=100_050, offset=9)
    clocks.observe("payments", 2, ts=20_000, now_ms=100_060, offset=3)  # its last payment, long ago
    marks = {("trip-events", 2): 12, ("payments", 2): 4}  # two trip events still unread
    # payments holds nothing back although it was read 40 ms ago: all of it has been read
    assert clocks.event_time(2, now_ms=100_100, highwater=highwaters(marks)) == 100_000


def test_a_partition_all_caught_up_follows_the_wall_clock():
    clocks = PartitionClocks(idle_ms=2_000)
    clocks.observe("trip-events", 1, ts=50_000, now_ms=50_010, offset=0)
    clocks.observe("telemetry", 1, ts=50_500, now_ms=50_510, offset=7)
    marks = {("trip-events", 1): 1, ("telemetry", 1): 8}
    assert clocks.event_time(1, now_ms=50_600, highwater=highwaters(marks)) == 50_600


def test_a_new_message_on_the_broker_makes_a_caught_up_topic_behind_again():
    clocks = PartitionClocks(idle_ms=2_000)
    clocks.observe("telemetry", 0, ts=70_000, now_ms=71_000, offset=41)
    marks = {("telemetry", 0): 42}
    assert clocks.event_time(0, now_ms=72_000, highwater=highwaters(marks)) == 72_000
    marks[("telemetry", 0)] = 43  # fetched, not read yet
    assert clocks.event_time(0, now_ms=72_100, highwater=highwaters(marks)) == 70_000
    clocks.observe("telemetry", 0, ts=71_900, now_ms=72_200, offset=42)
    assert clocks.event_time(0, now_ms=72_300, highwater=highwaters(marks)) == 72_300


def test_without_a_high_water_mark_silence_for_idle_ms_stands_in():
    clocks = PartitionClocks(idle_ms=2_000)
    clocks.observe("telemetry", 3, ts=10_000, now_ms=15_000, offset=5)
    unknown = highwaters({})
    assert clocks.event_time(3, now_ms=16_000, highwater=unknown) == 10_000
    assert clocks.event_time(3, now_ms=17_000, highwater=unknown) == 17_000


def test_after_a_rebalance_a_topic_not_read_yet_waits_idle_ms_even_with_a_high_water_mark():
    clocks = PartitionClocks(idle_ms=2_000)
    clocks.restart(["trip-events", "telemetry"], {1}, now_ms=50_000)
    marks = {("trip-events", 1): 30, ("telemetry", 1): 900}
    # where the worker resumes is not known until it reads: do not trust the wall clock yet
    assert clocks.event_time(1, now_ms=50_500, highwater=highwaters(marks)) == 0
    clocks.observe("trip-events", 1, ts=50_400, now_ms=50_600, offset=29)
    clocks.observe("telemetry", 1, ts=49_000, now_ms=50_700, offset=100)
    # trip-events is caught up, telemetry has 799 unread pings: telemetry decides
    assert clocks.event_time(1, now_ms=60_000, highwater=highwaters(marks)) == 49_000


def test_late_events_and_out_of_order_offsets_never_move_a_clock_back():
    clocks = PartitionClocks(idle_ms=2_000)
    clocks.observe("telemetry", 4, ts=80_000, now_ms=81_000, offset=10)
    clocks.observe("telemetry", 4, ts=60_000, now_ms=81_100, offset=9)  # redelivered after a seek
    marks = {("telemetry", 4): 12}
    assert clocks.event_time(4, now_ms=90_000, highwater=highwaters(marks)) == 80_000
    marks[("telemetry", 4)] = 11
    assert clocks.event_time(4, now_ms=90_000, highwater=highwaters(marks)) == 90_000


def test_a_rebalance_forgets_offsets_of_kept_partitions_until_they_are_read_again():
    clocks = PartitionClocks(idle_ms=2_000)
    clocks.observe("telemetry", 1, ts=80_000, now_ms=80_100, offset=500)
    clocks.restart(["telemetry"], {1}, now_ms=81_000)
    marks = highwaters({("telemetry", 1): 501})
    # resumed from an older commit maybe: offset 500 no longer proves it is caught up
    assert clocks.event_time(1, now_ms=81_500, highwater=marks) == 80_000
    clocks.observe("telemetry", 1, ts=70_000, now_ms=81_600, offset=450)  # re-read from the commit
    assert clocks.event_time(1, now_ms=90_000, highwater=marks) == 80_000  # 50 still unread
    clocks.observe("telemetry", 1, ts=80_000, now_ms=90_100, offset=500)
    assert clocks.event_time(1, now_ms=90_200, highwater=marks) == 90_200


def test_a_dead_letter_read_counts_as_read_so_a_caught_up_topic_is_idle() -> None:
    from monitor.watermarks import PartitionClocks

    clocks = PartitionClocks(idle_ms=2_000)
    clocks.observe("telemetry", 0, ts=1_000, now_ms=1_000, offset=4)
    clocks.skip("telemetry", 0, now_ms=1_100, offset=5)  # a bad message after the last good one
    highwater = {("telemetry", 0): 6}
    # read up to the high-water mark: idle at once, the partition follows the wall clock
    assert clocks.event_time(0, now_ms=1_200, highwater=lambda t, p: highwater[(t, p)]) == 1_200
    highwater[("telemetry", 0)] = 7  # one more unread message: behind, held at its last event time
    assert clocks.event_time(0, now_ms=1_200, highwater=lambda t, p: highwater[(t, p)]) == 1_000


def test_after_a_restart_a_topic_not_read_yet_holds_back_until_read_to_its_mark_however_long():
    """A restarted worker whose consumer is slow to start must not judge restored trips against
    the wall clock before the pings it missed are read again (false `signal_lost`)."""
    clocks = PartitionClocks(idle_ms=2_000)
    clocks.restart(["trip-events", "telemetry"], {1}, now_ms=50_000)
    marks = highwaters({("trip-events", 1): 30, ("telemetry", 1): 900})
    positions = {("trip-events", 1): 30, ("telemetry", 1): 850}  # resumed from the last commits

    def position(topic: str, partition: int) -> int | None:
        return positions[(topic, partition)]

    # long past idle_ms, nothing read: trip-events is caught up, telemetry has 50 unread pings
    assert clocks.event_time(1, now_ms=70_000, highwater=marks, position=position) == 0
    positions[("telemetry", 1)] = 900  # read to the mark (delivered, not judged yet)
    assert clocks.event_time(1, now_ms=70_100, highwater=marks, position=position) == 70_100


def test_without_a_read_or_a_position_a_topic_with_messages_holds_back_for_the_startup_hold():
    from monitor.watermarks import STARTUP_HOLD_MS

    clocks = PartitionClocks(idle_ms=2_000)
    clocks.restart(["telemetry"], {0}, now_ms=10_000)
    marks = highwaters({("telemetry", 0): 40})
    assert clocks.event_time(0, now_ms=10_000 + STARTUP_HOLD_MS - 1, highwater=marks) == 0
    assert clocks.event_time(0, now_ms=10_000 + STARTUP_HOLD_MS, highwater=marks) == 10_000 + STARTUP_HOLD_MS
    empty = highwaters({("telemetry", 0): 0})
    assert clocks.event_time(0, now_ms=10_001, highwater=empty) == 10_001  # nothing to wait for


def test_a_seek_forgets_what_was_read_past_the_point_reading_starts_again():
    clocks = PartitionClocks(idle_ms=2_000)
    clocks.observe("telemetry", 3, ts=90_000, now_ms=90_100, offset=160)  # handed over early
    marks = highwaters({("telemetry", 3): 161})
    assert clocks.event_time(3, now_ms=90_200, highwater=marks) == 90_200  # looks read to its mark
    clocks.rewind("telemetry", 3, now_ms=90_300)  # sought back to the committed offset 2

    def position(topic: str, partition: int) -> int | None:
        return 2

    assert clocks.event_time(3, now_ms=95_000, highwater=marks, position=position) == 0
