"""Pings whose effect is not in the `trips` changelog yet: their offsets must not be committed.

Most pings change nothing a restart needs beyond the trip's last ping time, so they are
not written to the table (see TripProcessor._on_ping). If faust committed their offsets
anyway, a restart would restore a last ping that is too old, and a silent-car deadline
would fire early. So the consumer commits a telemetry partition no further than its oldest
ping not yet reflected in a write (`commit_cap`); a trip's pings are released when its
state is next written (an incident, a status change, the periodic checkpoint, or
`overdue` below). After a crash or a restart faust reads those pings again.
"""

from __future__ import annotations

from faust.types import TP


class UnsavedPings:
    def __init__(self) -> None:
        self._oldest: dict[TP, dict[str, int]] = {}  # tp -> order_id -> offset of its oldest unsaved ping
        # order_id -> wall-clock ms of that ping. Its tp is not kept beside it (a tuple a trip,
        # 64 bytes at 20,000 live trips): a release finds it among the few partitions held.
        self._since: dict[str, int] = {}

    def hold(self, order_id: str, tp: TP, offset: int, now_ms: int) -> None:
        self._oldest.setdefault(tp, {}).setdefault(order_id, offset)
        self._since.setdefault(order_id, now_ms)

    def release(self, order_id: str) -> None:
        """The trip's state was just written: its pings may be committed."""
        if self._since.pop(order_id, None) is None:
            return
        for held in self._oldest.values():  # a trip's pings are on one partition
            if held.pop(order_id, None) is not None:
                return

    def commit_cap(self, tp: TP) -> int | None:
        """The highest offset `tp` may be committed at; None when nothing on it is unsaved."""
        return min(self._oldest.get(tp, {}).values(), default=None)

    def overdue(self, now_ms: int, max_age_ms: int) -> list[str]:
        """Trips holding a ping longer than `max_age_ms`: write them, so commits move on.

        `_since` is in the order trips began holding (released trips leave it, and come back at
        the end), so this reads only the overdue ones and the first that is not: a tick costs
        what is due, not every trip. (A wall clock stepped back only delays a write.)"""
        overdue = []
        for order, since in self._since.items():
            if now_ms - since < max_age_ms:
                break
            overdue.append(order)
        return overdue

    def keep_only(self, partitions: set[int]) -> None:
        """After a rebalance: what moved to another worker is its business now."""
        for tp, held in self._oldest.items():
            if tp.partition not in partitions:
                for order_id in held:
                    self._since.pop(order_id, None)
                held.clear()

    def __len__(self) -> int:
        return len(self._since)
