"""Trips come up for expiry at their time or within a bucket after it, never before (monitor/expiry.py)."""

from monitor.expiry import ExpiryQueue


def test_a_trip_comes_due_at_its_time_rounded_up_to_the_bucket_and_never_before():
    queue = ExpiryQueue(bucket_ms=1_000)
    queue.push(2_500, "late")
    queue.push(1_000, "on-the-edge")
    queue.push(1_001, "just-after")
    assert len(queue) == 3
    assert queue.pop_due(999) == []
    assert queue.pop_due(1_000) == ["on-the-edge"]
    assert queue.pop_due(1_999) == []  # "just-after" is due, but its bucket ends at 2,000
    assert queue.pop_due(2_000) == ["just-after"]
    assert queue.pop_due(10_000) == ["late"] and len(queue) == 0


def test_a_trip_pushed_again_comes_up_again_and_clear_forgets_all():
    queue = ExpiryQueue(bucket_ms=1_000)
    queue.push(500, "a")
    queue.push(5_500, "b")
    assert queue.pop_due(1_000) == ["a"]
    queue.push(3_000, "a")  # it heard something since: looked at again later
    assert queue.pop_due(6_000) == ["a", "b"]
    queue.push(7_000, "c")
    queue.clear()
    assert queue.pop_due(10**9) == [] and len(queue) == 0
