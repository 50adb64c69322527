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

import enum
from collections.abc import Callable

from faust.types import TP


class OffsetLedger:
    def __init__(self) -> None:
        self._expected: dict[TP, int] = {}
        self._jumps: dict[TP, tuple[int, int]] = {}  # tp -> (offset expected, offset received) last time

    def reset(self, tp: TP, offset: int | None) -> None:
        """The consumer was sought to `offset` (None: where it reads is not known). A jump from
        that offset is remembered: seen again after this seek, it is real."""
        if self._jumps.get(tp, (None,))[0] != offset:
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


class Verdict(enum.Enum):
    JUDGE = "judge"  # the next offset: judge it
    DONE = "done"  # judged already: let it pass (it counts as read)
    WAIT = "wait"  # past a hole being read again: let it pass unjudged (it comes again)
    REREAD = "reread"  # a hole before it: seek the partition back (`JudgedOffsets.next`)


class JudgedOffsets:
    """The offsets the agent has judged, per input topic-partition, without a hole.

    Records the consumer fetched in order can still be lost before the agent judges them:
    faust clears the agents' buffers when a rebalance starts, and drops what its read offset
    says it has delivered. A record past the next one expected shows such a hole: the
    partition is read again from the hole, and records that arrive meanwhile pass unjudged
    (faust acknowledges them, but cannot commit past the hole). A hole at the tail (nothing
    after it arrives) shows as records on the broker (fetched, or below its high-water mark),
    none of them in flight to the agent, that the agent never judged.

    From a rebalance until the consumer is sought to the committed offsets, nothing is judged:
    faust resumes the fetcher before that seek, so records past the commit could be judged
    before the ones the seek reads again (a stop's later pings before its first). They pass
    unjudged (`WAIT`) and come again after the seek.
    """

    def __init__(self, reread_after_ms: int = 2_000) -> None:
        self.reread_after_ms = reread_after_ms
        self._next: dict[TP, int] = {}
        self._rereading: dict[TP, int] = {}  # tp -> when its re-read was asked for
        self._progress: dict[TP, int] = {}  # tp -> when it last judged or was sought
        self._unsought: dict[TP, int] = {}  # tp -> when a record first waited for the seek

    def forget(self) -> None:
        """A rebalance began: judge nothing until the consumer is sought again (`reset`)."""
        self._next.clear()
        self._rereading.clear()
        self._unsought.clear()

    def reset(self, tp: TP, offset: int, now_ms: int) -> None:
        """The consumer was sought to `offset`: judging goes on from there."""
        self._next[tp] = offset
        self._rereading.pop(tp, None)
        self._unsought.pop(tp, None)
        self._progress[tp] = now_ms

    def skip_to(self, tp: TP, start: int, end: int) -> None:
        """The broker has no records in `start`..`end - 1` (seen twice by the fetch ledger)."""
        if self._next.get(tp) == start:
            self._next[tp] = end

    def take(self, tp: TP, offset: int, now_ms: int) -> Verdict:
        expected = self._next.get(tp)
        if expected is None:  # not sought since the rebalance: it comes again after the seek
            self._unsought.setdefault(tp, now_ms)
            return Verdict.WAIT
        if offset == expected:
            self._next[tp] = offset + 1
            self._rereading.pop(tp, None)
            self._progress[tp] = now_ms
            return Verdict.JUDGE
        if offset < expected:
            return Verdict.DONE
        asked = self._rereading.get(tp)
        if asked is not None and now_ms - asked < self.reread_after_ms:
            return Verdict.WAIT
        self._rereading[tp] = now_ms
        return Verdict.REREAD

    def stalled(self, available: Callable[[TP], int | None], in_flight: set[TP], now_ms: int) -> list[TP]:
        """Partitions with records the agent has not judged (up to `available(tp)`, exclusive:
        what the fetcher handed out, or the broker's high-water mark), none of them in flight to
        it and no progress for `reread_after_ms`: dropped on the way with nothing after them to
        show the hole, or never fetched again after a seek. Each is marked re-reading."""
        found = []
        for tp, expected in self._next.items():
            handed = available(tp)
            if handed is None or handed <= expected or tp in in_flight:
                continue
            if now_ms - max(self._progress.get(tp, 0), self._rereading.get(tp, 0)) < self.reread_after_ms:
                continue
            self._rereading[tp] = now_ms
            found.append(tp)
        return found

    def unsought(self, now_ms: int, after_ms: int) -> list[TP]:
        """Partitions whose records have waited more than `after_ms` for a seek that did not come."""
        return [tp for tp, since in self._unsought.items() if now_ms - since > after_ms]

    def commit_cap(self, tp: TP) -> int:
        """No offset is committed that the agent has not judged: 0 before the seek."""
        return self._next.get(tp, 0)

    def next(self, tp: TP) -> int | None:
        return self._next.get(tp)
