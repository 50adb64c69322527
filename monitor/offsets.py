"""The offsets the worker has been handed, per input topic-partition: none may be skipped.

faust hands the agents what its fetcher yields and moves its read offset as it goes. Around a
rebalance it can lose fetched records: its seek to the committed offsets runs in the consumer's
thread while the fetcher goes on, records of partitions it counts as inactive are dropped, and
the next record handed over is past them. faust then marks the offsets in between as a "gap"
and commits them: events nobody judged (SOS lost across a worker restart, measured).

So the consumer checks every record against the offset it expects next. A record past it
means records were skipped: it is held back, and the partition is sought back to the offset
expected, to be fetched again. Where the broker really has nothing in between (a transaction
marker, a compacted record), fetching again answers with the same later offset: the second
time, the jump is taken as real.
"""

from __future__ import annotations

from faust.types import TP


class OffsetLedger:
    def __init__(self) -> None:
        self._expected: dict[TP, int] = {}
        self._jumps: dict[TP, tuple[int, int]] = {}  # tp -> (offset expected, offset received) last time

    def reset(self, tp: TP, offset: int | None) -> None:
        """The consumer was sought to `offset` (None: where it reads is not known)."""
        self._jumps.pop(tp, None)
        if offset is None:
            self._expected.pop(tp, None)
        else:
            self._expected[tp] = offset

    def admit(self, tp: TP, offset: int) -> bool:
        """Whether the record at `offset` may be handed on; False: seek `tp` to `expected(tp)`."""
        expected = self._expected.get(tp)
        if expected is None or offset <= expected:
            # in order, or a record already handed on (faust's own read offset drops a repeat)
            self._expected[tp] = max(offset + 1, expected or 0)
            return True
        if self._jumps.get(tp) == (expected, offset):
            # fetched again from `expected`, the broker answers with `offset` once more
            del self._jumps[tp]
            self._expected[tp] = offset + 1
            return True
        self._jumps[tp] = (expected, offset)
        return False

    def expected(self, tp: TP) -> int | None:
        return self._expected.get(tp)
