"""A worker's clock: which trips have a deadline due, soonest first.

Entries are hints, checked against the trip's state when they come due: a deadline
moved or cancelled since it was pushed is simply skipped, so nothing needs removing.
Only the earliest wake-up per trip is kept: a deadline that moves later (the signal-lost
deadline moves with every ping) costs no new entry; the trip is re-pushed when the old
one comes due.
"""

from __future__ import annotations

import heapq


class DeadlineQueue:
    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []
        self._earliest: dict[str, int] = {}

    def push(self, due_ms: int, order_id: str) -> None:
        queued = self._earliest.get(order_id)
        if queued is not None and queued <= due_ms:
            return
        self._earliest[order_id] = due_ms
        heapq.heappush(self._heap, (due_ms, order_id))

    def pop_due(self, now_ms: int) -> list[str]:
        """Orders with a deadline at or before `now_ms`, each once."""
        due: list[str] = []
        while self._heap and self._heap[0][0] <= now_ms:
            due_ms, order_id = heapq.heappop(self._heap)
            if self._earliest.get(order_id) == due_ms:
                del self._earliest[order_id]
                due.append(order_id)
        return due

    def clear(self) -> None:
        self._heap.clear()
        self._earliest.clear()

    def __len__(self) -> int:
        return len(self._earliest)
