"""A worker's clock: which trips have a deadline due, soonest first.

Entries are hints, checked against the trip's state when they come due: a deadline
moved or cancelled since it was pushed is simply skipped, so nothing needs removing.
"""

from __future__ import annotations

import heapq


class DeadlineQueue:
    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []
        self._queued: set[tuple[int, str]] = set()

    def push(self, due_ms: int, order_id: str) -> None:
        entry = (due_ms, order_id)
        if entry not in self._queued:
            self._queued.add(entry)
            heapq.heappush(self._heap, entry)

    def pop_due(self, now_ms: int) -> list[str]:
        """Orders with a deadline at or before `now_ms`, each once."""
        due: list[str] = []
        while self._heap and self._heap[0][0] <= now_ms:
            entry = heapq.heappop(self._heap)
            self._queued.discard(entry)
            if entry[1] not in due:
                due.append(entry[1])
        return due

    def clear(self) -> None:
        self._heap.clear()
        self._queued.clear()

    def __len__(self) -> int:
        return len(self._heap)
