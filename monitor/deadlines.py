"""A worker's clock: which trips have a deadline due, soonest first.

Entries are hints, checked against the trip's state when they come due: a deadline
moved or cancelled since it was pushed is simply skipped, so nothing needs removing.
Only the earliest wake-up per trip is kept: a deadline that moves later (the signal-lost
deadline moves with every ping) costs no new entry; the trip is re-pushed when the old
one comes due.

A deadline due on the wall clock whose partition is not read that far yet (monitor.watermarks)
is *parked* on its partition, in a heap by due time, and comes back only once that partition's
event time passes it: a tick costs the deadlines due plus one look per partition, never a
look at every trip waiting for a slow partition (at 20,000 live trips that took longer than
the tick itself).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable


class DeadlineQueue:
    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []
        self._parked: dict[int, list[tuple[int, str]]] = {}  # partition -> heap of (due, order)
        self._earliest: dict[str, int] = {}

    def push(self, due_ms: int, order_id: str) -> None:
        queued = self._earliest.get(order_id)
        if queued is not None and queued <= due_ms:
            return
        self._earliest[order_id] = due_ms
        heapq.heappush(self._heap, (due_ms, order_id))

    def park(self, due_ms: int, order_id: str, partition: int) -> None:
        """`order_id` is due at `due_ms` but its `partition` is not read that far: hold it there."""
        queued = self._earliest.get(order_id)
        if queued is not None and queued < due_ms:
            return  # an earlier wake-up is queued already
        self._earliest[order_id] = due_ms
        heapq.heappush(self._parked.setdefault(partition, []), (due_ms, order_id))

    def pop_due(self, now_ms: int, event_time: Callable[[int], int] | None = None) -> list[str]:
        """Orders with a deadline at or before `now_ms`, and parked ones whose partition's
        `event_time` has reached theirs; each once."""
        due = self._pop(self._heap, now_ms)
        if event_time is not None:
            for partition, parked in list(self._parked.items()):
                due.extend(self._pop(parked, event_time(partition)))
                if not parked:
                    del self._parked[partition]
        return due

    def _pop(self, heap: list[tuple[int, str]], until_ms: int) -> list[str]:
        due: list[str] = []
        while heap and heap[0][0] <= until_ms:
            due_ms, order_id = heapq.heappop(heap)
            if self._earliest.get(order_id) == due_ms:
                del self._earliest[order_id]
                due.append(order_id)
        return due

    def clear(self) -> None:
        self._heap.clear()
        self._parked.clear()
        self._earliest.clear()

    def earliest(self, order_id: str) -> int | None:
        """The earliest wake-up queued for `order_id` (never later than its deadline), if any."""
        return self._earliest.get(order_id)

    def __len__(self) -> int:
        return len(self._earliest)
