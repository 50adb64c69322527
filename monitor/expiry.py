"""When each cached trip may next be forgotten: a heap by the earliest time its state can expire.

A trip is looked at when its time comes, not on every sweep: the sweep costs the trips that
may go, not every trip held. An entry is a hint: a trip that heard something since is put back
at its new time (see `trip_state.expires_at`), one that left the cache is skipped.
"""

from __future__ import annotations

import heapq


class ExpiryQueue:
    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []

    def push(self, at_ms: int, order_id: str) -> None:
        heapq.heappush(self._heap, (at_ms, order_id))

    def pop_due(self, now_ms: int) -> list[str]:
        due = []
        while self._heap and self._heap[0][0] <= now_ms:
            due.append(heapq.heappop(self._heap)[1])
        return due

    def clear(self) -> None:
        self._heap.clear()

    def __len__(self) -> int:
        return len(self._heap)
