"""Which telemetry offsets may be committed while pings wait for their trip's next write."""

from collections import defaultdict
from types import SimpleNamespace

from faust.types import TP
from intervaltree import IntervalTree

from monitor.offsets import JudgedOffsets
from monitor.transport import LowLatencyConsumer
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


def consumer_with_acked(offsets: list[int], committed: int | None, cap: int | None) -> LowLatencyConsumer:
    """faust's commit bookkeeping of one topic-partition, as LowLatencyConsumer sees it."""
    consumer = object.__new__(LowLatencyConsumer)
    consumer._acked = defaultdict(list, {T0: list(offsets)})
    consumer._acked_index = defaultdict(set, {T0: set(offsets)})
    consumer._gap = defaultdict(IntervalTree)
    consumer._committed_offset = defaultdict(lambda: None, {T0: committed})
    consumer.app = SimpleNamespace(commit_cap=lambda tp: cap, guarded_topics=frozenset())
    consumer.judged = JudgedOffsets()
    return consumer


def test_the_consumer_commits_up_to_the_cap_and_the_rest_once_it_is_lifted() -> None:
    consumer = consumer_with_acked(list(range(10, 20)), committed=10, cap=14)
    assert consumer._new_offset(T0) == 14  # 10..13 are safe; 14 is an unsaved ping
    consumer._committed_offset[T0] = 14
    assert consumer._new_offset(T0) is None  # nothing more while the cap holds
    consumer.app.commit_cap = lambda tp: None  # the trip was written
    assert consumer._new_offset(T0) == 20  # the offsets past the cap were not forgotten


def test_without_a_cap_the_consumer_commits_as_faust_does() -> None:
    consumer = consumer_with_acked([5, 6, 7, 9], committed=5, cap=None)
    assert consumer._new_offset(T0) == 8


def test_no_offset_of_an_input_topic_is_committed_past_what_the_agent_judged() -> None:
    consumer = consumer_with_acked(list(range(10, 20)), committed=10, cap=None)
    consumer.app.guarded_topics = frozenset({T0.topic})
    assert consumer._new_offset(T0) is None  # not sought since the rebalance: nothing judged
    consumer.judged.reset(T0, 10, now_ms=0)
    for offset in range(10, 16):
        consumer.judged.take(T0, offset, now_ms=1)
    assert consumer._new_offset(T0) == 16  # 16..19 were acknowledged unjudged (past a hole)


def test_overdue_reads_the_trips_in_the_order_they_began_holding() -> None:
    unsaved = UnsavedPings()
    for n in range(1_000):
        unsaved.hold(f"t{n}", T0, n, now_ms=n)
    unsaved.release("t0")
    unsaved.hold("t0", T0, 1_000, now_ms=1_000)  # held again: now the newest
    assert unsaved.overdue(now_ms=30_002, max_age_ms=30_000) == ["t1", "t2"]
    assert unsaved.overdue(now_ms=31_000, max_age_ms=30_000)[-1] == "t0"
