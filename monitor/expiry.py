"""When each cached trip may next be forgotten: trips in buckets by the earliest time their state
can expire.

A trip is looked at when its time comes, not on every sweep: the sweep costs the trips that
may go, not every trip held. An entry is a hint: a trip that heard something since is put back
at its new time (see `trip_state.expires_at`), one that left the cache is skipped.

The times are rounded up to the bucket's width (a minute): a trip is forgotten at most that much
after its time, never before, and costs one reference in its bucket's list, not a heap entry of
its own (a tuple and its time, about 100 bytes a trip at 20,000 live trips).
"""

from __future__ import annotations

import heapq

BUCKET_MS = 60_000


class ExpiryQueue:
    def __init__(self, bucket_ms: int = BUCKET_MS) -> None:
        self._bucket_ms = bucket_ms
        self._buckets: dict[int, list[str]] = {}  # bucket -> its trips; ends at bucket * bucket_ms
        self._ends: list[int] = []  # the buckets, a heap
        self._count = 0

    def push(self, at_ms: int, order_id: str) -> None:
        bucket = -(-at_ms // self._bucket_ms)  # rounded up: never looked at before `at_ms`
        trips = self._buckets.get(bucket)
        if trips is None:
            trips = self._buckets[bucket] = []
            heapq.heappush(self._ends, bucket)
        trips.append(order_id)
        self._count += 1

    def pop_due(self, now_ms: int) -> list[str]:
        due: list[str] = []
        while self._ends and self._ends[0] * self._bucket_ms <= now_ms:
            due.extend(self._buckets.pop(heapq.heappop(self._ends)))
        self._count -= len(due)
        return due

    def clear(self) -> None:
        self._buckets.clear()
        self._ends.clear()
        self._count = 0

    def __len__(self) -> int:
        return self._count
