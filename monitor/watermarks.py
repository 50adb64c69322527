"""Event time per partition: how far the worker has read, so deadlines wait for late readers.

A deadline is decided when the trip's *event time* has passed it (plus the allowed
lateness), not merely the wall clock: events that would cancel it (the driver's arrival,
a ping, a capture) may still be unread. The four input topics of one partition are read
at different paces (faust buffers each topic-partition separately, so telemetry, the
busiest, can lag the others by minutes under load), so like a Flink watermark the
partition's event time is the *minimum* over its topic-partitions of the latest `ts` read
from each, capped by the wall clock.

A topic-partition holds the others back only while it is *behind*: the broker holds
messages on it (up to its high-water mark) that have not been read yet. One read up to its
high-water mark is *idle*: whatever it will bring has not been written yet, so it holds
nothing back, and a partition all idle follows the wall clock (deadlines still fire when a
trip's stream is silent). Silence alone does not make a topic-partition idle: a busy one
whose fetched messages wait in faust's buffer is behind, not quiet.

Nothing read from a topic-partition since it was assigned (a restart, a rebalance): it is
behind while the consumer's read position is short of the high-water mark, however long
the consumer takes to get going, so that a trip restored from the table is not judged
against the wall clock before the pings it missed are read again (that raised false
`signal_lost` right after a restart). Only where the high-water mark is not known (not
fetched yet) does `idle_ms` without a read stand in for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

# (topic, partition) -> the offset the next message written there will get, or None if unknown
Highwater = Callable[[str, int], "int | None"]
# (topic, partition) -> where the consumer reads next (or last delivered), or None if unknown
Position = Callable[[str, int], "int | None"]
# With neither a read nor a known position, a topic-partition that has messages holds the
# others back this long after its assignment at most (one whose log start moved past 0 and
# that has no commit would otherwise look behind for ever).
STARTUP_HOLD_MS = 30_000


@dataclass
class _Clock:
    max_ts: int
    last_read_ms: int
    offset: int | None = None  # offset of the last message read; None: nothing read yet


def _no_highwater(topic: str, partition: int) -> int | None:
    return None


_no_position = _no_highwater


class PartitionClocks:
    def __init__(self, idle_ms: int) -> None:
        self.idle_ms = idle_ms
        self._clocks: dict[int, dict[str, _Clock]] = {}
        # bumped when an event time may go back (a restart, a seek): reads only move it forward,
        # so an event time computed since the last bump is at worst a little behind
        self.generation = 0

    def observe(self, topic: str, partition: int, ts: int, now_ms: int, offset: int | None = None) -> None:
        """An event of time `ts` at `offset` was read from `topic`[`partition`] at `now_ms`."""
        clocks = self._clocks.setdefault(partition, {})
        clock = clocks.get(topic)
        if clock is None:
            clocks[topic] = _Clock(ts, now_ms, offset)
            return
        clock.max_ts = max(clock.max_ts, ts)
        clock.last_read_ms = now_ms
        if offset is not None:
            clock.offset = offset if clock.offset is None else max(clock.offset, offset)

    def skip(self, topic: str, partition: int, now_ms: int, offset: int) -> None:
        """A message with no usable event time (a dead letter) was read: its offset counts as
        read, or the topic-partition would look behind its high-water mark for ever."""
        clock = self._clocks.setdefault(partition, {}).get(topic)
        if clock is None:
            self._clocks[partition][topic] = _Clock(0, now_ms, offset)
            return
        clock.last_read_ms = now_ms
        clock.offset = offset if clock.offset is None else max(clock.offset, offset)

    def restart(self, topics: Iterable[str], partitions: set[int], now_ms: int) -> None:
        """Newly assigned partitions: read what is there before trusting the wall clock.

        Partitions kept keep their event time, but not their offsets: the consumer may resume
        them from the last commit, behind what was read, so until a read says where it is,
        `idle_ms` without one stands in for the high-water mark.
        """
        topics = tuple(topics)
        self.generation += 1
        for clocks in self._clocks.values():
            for clock in clocks.values():
                clock.offset = None
        self._clocks = {
            p: self._clocks.get(p) or {topic: _Clock(0, now_ms) for topic in topics} for p in partitions
        }

    def rewind(self, topic: str, partition: int, now_ms: int) -> None:
        """The consumer was sought on `topic`[`partition`]: what it read before (perhaps past the
        point it reads from now) says nothing any more; it holds the others back until read."""
        self.generation += 1
        self._clocks.setdefault(partition, {})[topic] = _Clock(0, now_ms)

    def holds_back(
        self, clock: _Clock, highwater: int | None, now_ms: int, position: int | None = None
    ) -> bool:
        """Whether a topic-partition is behind (unread messages wait on the broker) rather than idle."""
        if highwater is None:
            return now_ms - clock.last_read_ms < self.idle_ms
        if clock.offset is not None:
            return clock.offset + 1 < highwater
        if position is not None:  # nothing read since assigned: behind until read to the mark
            return position < highwater
        return highwater > 0 and now_ms - clock.last_read_ms < max(self.idle_ms, STARTUP_HOLD_MS)

    def event_time(
        self,
        partition: int,
        now_ms: int,
        highwater: Highwater = _no_highwater,
        position: Position = _no_position,
    ) -> int:
        behind = [
            clock.max_ts
            for topic, clock in self._clocks.get(partition, {}).items()
            if self.holds_back(clock, highwater(topic, partition), now_ms, position(topic, partition))
        ]
        return min([now_ms, *behind])
