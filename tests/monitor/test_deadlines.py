"""The deadline queue: a tick costs the deadlines due and one look per partition."""

from __future__ import annotations

from monitor.deadlines import DeadlineQueue


def test_a_parked_deadline_comes_back_only_when_its_partition_is_read_that_far() -> None:
    queue = DeadlineQueue()
    queue.park(1_000, "a", partition=0)
    queue.park(1_500, "b", partition=1)
    read_to = {0: 900, 1: 2_000}
    assert queue.pop_due(5_000, read_to.__getitem__) == ["b"]
    read_to[0] = 1_000
    assert queue.pop_due(5_000, read_to.__getitem__) == ["a"]
    assert len(queue) == 0


def test_parked_deadlines_are_not_looked_at_while_their_partition_is_behind() -> None:
    queue = DeadlineQueue()
    for n in range(20_000):
        queue.park(1_000 + n, f"trip-{n}", partition=n % 4)
    looked_at: list[int] = []

    def read_to(partition: int) -> int:
        looked_at.append(partition)
        return 0  # every partition behind

    assert queue.pop_due(10**9, read_to) == []
    assert sorted(looked_at) == [0, 1, 2, 3]  # one look per partition, whatever the trip count


def test_an_earlier_push_supersedes_a_parked_deadline_and_a_later_one_waits_behind_it() -> None:
    queue = DeadlineQueue()
    queue.park(1_000, "a", partition=0)
    queue.push(2_000, "a")  # later: the parked wake-up comes first, and the trip is looked at then
    assert len(queue) == 1
    queue.push(500, "a")  # earlier: wakes it sooner; the parked entry is then stale
    assert queue.pop_due(600, lambda p: 0) == ["a"]
    assert queue.pop_due(10**9, lambda p: 10**9) == []
