"""Which telemetry offsets may be committed while pings wait for their trip's next write."""

from faust.types import TP

from monitor.unsaved import UnsavedPings

T0, T1 = TP("telemetry", 0), TP("telemetry", 1)


def test_the_cap_is_the_oldest_unsaved_ping_of_the_partition() -> None:
    unsaved = UnsavedPings()
    assert unsaved.commit_cap(T0) is None
    unsaved.hold("a", T0, 7, now_ms=1_000)
    unsaved.hold("a", T0, 9, now_ms=1_100)  # a later ping of the same trip keeps the oldest
    unsaved.hold("b", T0, 8, now_ms=1_200)
    unsaved.hold("c", T1, 3, now_ms=1_300)
    assert (unsaved.commit_cap(T0), unsaved.commit_cap(T1)) == (7, 3)
    unsaved.release("a")
    assert unsaved.commit_cap(T0) == 8
    unsaved.release("b")
    unsaved.release("b")  # a second release changes nothing
    assert unsaved.commit_cap(T0) is None
    assert len(unsaved) == 1


def test_overdue_trips_are_those_holding_a_ping_for_the_whole_interval() -> None:
    unsaved = UnsavedPings()
    unsaved.hold("a", T0, 1, now_ms=1_000)
    unsaved.hold("b", T0, 2, now_ms=5_000)
    unsaved.hold("a", T0, 3, now_ms=9_000)  # held since its first unsaved ping
    assert unsaved.overdue(now_ms=30_999, max_age_ms=30_000) == []
    assert unsaved.overdue(now_ms=31_000, max_age_ms=30_000) == ["a"]


def test_after_a_rebalance_only_the_partitions_still_owned_are_held() -> None:
    unsaved = UnsavedPings()
    unsaved.hold("a", T0, 1, now_ms=0)
    unsaved.hold("b", T1, 2, now_ms=0)
    unsaved.keep_only({1})
    assert (unsaved.commit_cap(T0), unsaved.commit_cap(T1)) == (None, 2)
    assert unsaved.overdue(now_ms=10**9, max_age_ms=1) == ["b"]
