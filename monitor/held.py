"""Events held back until the deadline they come after can be judged.

An event from beyond one of its trip's deadlines (a moving ping after a long stop's deadline,
the driver's arrival after the promised pickup) must not be applied before that deadline is
judged, or it clears a condition that had already lasted too long. The deadline is judged
once the trip's partition has been read up to it (monitor.watermarks); while another topic
of the partition is behind (a worker catching up after a restart), the trip's events wait
here, in order, and the consumer commits none of their offsets, so a crash reads them again.

A trip held too long (`max_age_ms`) or with too many events waiting is released anyway, and
its events are applied as they are: memory stays bounded whatever the partition does.
"""

from __future__ import annotations

from dataclasses import dataclass

from faust.types import TP

from core import models


@dataclass(frozen=True)
class HeldEvent:
    event: models.InputEvent
    tp: TP
    offset: int


@dataclass
class _Trip:
    since_ms: int
    events: list[HeldEvent]


class HeldEvents:
    def __init__(self, max_age_ms: int = 120_000, max_events: int = 1_000) -> None:
        self.max_age_ms = max_age_ms
        self.max_events = max_events
        self._trips: dict[str, _Trip] = {}

    def holding(self, order_id: str) -> bool:
        return order_id in self._trips

    def hold(self, order_id: str, held: HeldEvent, now_ms: int) -> None:
        self._trips.setdefault(order_id, _Trip(now_ms, [])).events.append(held)

    def first_ts(self, order_id: str) -> int:
        return min(held.event.ts for held in self._trips[order_id].events)

    def orders(self) -> list[str]:
        return list(self._trips)

    def overdue(self, order_id: str, now_ms: int) -> bool:
        trip = self._trips[order_id]
        return now_ms - trip.since_ms >= self.max_age_ms or len(trip.events) >= self.max_events

    def release(self, order_id: str) -> list[HeldEvent]:
        """The trip's held events, in event time (arrival order among equals)."""
        trip = self._trips.pop(order_id, None)
        return sorted(trip.events, key=lambda held: held.event.ts) if trip else []

    def commit_cap(self, tp: TP) -> int | None:
        """The lowest offset held on `tp`: the consumer commits nothing from there on."""
        return min((h.offset for t in self._trips.values() for h in t.events if h.tp == tp), default=None)

    def clear(self) -> None:
        """After a rebalance: nothing held was committed, so it is all read again."""
        self._trips.clear()

    def __len__(self) -> int:
        return len(self._trips)
