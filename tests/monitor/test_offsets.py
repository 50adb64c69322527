"""The offset ledger: a record past the one expected is held back until read again."""

from __future__ import annotations

from faust.types import TP

from monitor.offsets import OffsetLedger

SOS = TP("safety-signals", 3)


def test_records_in_order_are_handed_on():
    ledger = OffsetLedger()
    ledger.reset(SOS, 5)
    assert [ledger.admit(SOS, offset) for offset in (5, 6, 7)] == [True, True, True]
    assert ledger.expected(SOS) == 8


def test_a_jump_is_held_back_and_the_offset_expected_is_kept():
    """What a restarted worker saw: committed at 5, the first record handed over was 14."""
    ledger = OffsetLedger()
    ledger.reset(SOS, 5)
    assert not ledger.admit(SOS, 14)
    assert ledger.expected(SOS) == 5
    ledger.reset(SOS, 5)  # the consumer is sought back
    assert ledger.admit(SOS, 5)


def test_a_jump_seen_twice_after_reading_again_is_real():
    ledger = OffsetLedger()
    ledger.reset(SOS, 5)
    assert not ledger.admit(SOS, 9)
    # reading again from 5 gives 9 once more: 5..8 do not exist
    assert ledger.admit(SOS, 9)
    assert ledger.expected(SOS) == 10


def test_a_different_jump_after_reading_again_is_held_back_again():
    ledger = OffsetLedger()
    ledger.reset(SOS, 5)
    assert not ledger.admit(SOS, 14)  # a stale record from before the seek
    assert not ledger.admit(SOS, 9)  # read again: 5..8 do not exist, but 9 is new
    assert ledger.admit(SOS, 9)


def test_repeats_of_records_already_handed_on_pass_and_never_move_back():
    ledger = OffsetLedger()
    ledger.reset(SOS, 5)
    assert ledger.admit(SOS, 5) and ledger.admit(SOS, 6)
    assert ledger.admit(SOS, 5)
    assert ledger.expected(SOS) == 7


def test_where_reading_starts_is_unknown_the_first_record_sets_it():
    ledger = OffsetLedger()
    assert ledger.admit(SOS, 40)
    assert ledger.expected(SOS) == 41


def test_records_handed_out_but_never_judged_and_not_in_flight_are_read_again():
    from monitor.offsets import JudgedOffsets, Verdict

    judged = JudgedOffsets(reread_after_ms=2_000)
    judged.reset(SOS, 5, now_ms=1_000)
    assert judged.take(SOS, 5, now_ms=1_100) is Verdict.JUDGE
    handed_out = {SOS: 8}.get  # the fetcher handed out 5, 6 and 7; 6 and 7 were dropped
    assert judged.stalled(handed_out, in_flight=set(), now_ms=2_000) == []  # not stuck for long yet
    assert judged.stalled(handed_out, in_flight={SOS}, now_ms=3_200) == []  # still on their way
    assert judged.stalled(handed_out, in_flight=set(), now_ms=3_200) == [SOS]
    assert judged.stalled(handed_out, in_flight=set(), now_ms=3_300) == []  # asked once per interval
    assert judged.next(SOS) == 6


def test_a_partition_whose_records_were_not_handed_out_yet_is_not_stalled():
    from monitor.offsets import JudgedOffsets

    judged = JudgedOffsets(reread_after_ms=2_000)
    judged.reset(SOS, 5, now_ms=1_000)
    # a backlog elsewhere: the fetcher has not handed out offset 5 yet
    assert judged.stalled({SOS: 5}.get, in_flight=set(), now_ms=60_000) == []


def test_a_hole_in_the_agents_records_asks_once_for_a_reread_then_waits_for_it():
    from monitor.offsets import JudgedOffsets, Verdict

    judged = JudgedOffsets(reread_after_ms=2_000)
    judged.reset(SOS, 5, now_ms=0)
    assert judged.take(SOS, 9, now_ms=10) is Verdict.REREAD
    assert judged.take(SOS, 10, now_ms=20) is Verdict.WAIT  # stale, while the re-read comes
    assert judged.take(SOS, 5, now_ms=30) is Verdict.JUDGE
    assert judged.take(SOS, 4, now_ms=40) is Verdict.DONE  # judged already


def test_a_jump_seen_again_after_seeking_back_is_real():
    ledger = OffsetLedger()
    ledger.reset(SOS, 5)
    assert not ledger.admit(SOS, 9)
    ledger.reset(SOS, 5)  # sought back to 5: the broker has nothing before 9
    assert ledger.admit(SOS, 9)


def test_after_a_rebalance_nothing_is_judged_until_the_seek_says_where_to_start():
    from monitor.offsets import JudgedOffsets, Verdict

    judged = JudgedOffsets(reread_after_ms=2_000)
    judged.reset(SOS, 5, now_ms=0)
    assert judged.take(SOS, 5, now_ms=10) is Verdict.JUDGE
    judged.forget()  # a rebalance: faust resumes the fetcher before its seek to the commit
    assert judged.take(SOS, 14, now_ms=20) is Verdict.WAIT  # would be judged before 6..13
    assert judged.commit_cap(SOS) == 0  # and its offset is not committed
    judged.reset(SOS, 6, now_ms=30)
    assert judged.take(SOS, 6, now_ms=40) is Verdict.JUDGE
    assert judged.commit_cap(SOS) == 7


def test_records_waiting_long_for_a_seek_that_never_came_are_named():
    from monitor.offsets import JudgedOffsets

    judged = JudgedOffsets()
    judged.take(SOS, 3, now_ms=1_000)
    assert judged.unsought(now_ms=10_000, after_ms=15_000) == []
    assert judged.unsought(now_ms=16_001, after_ms=15_000) == [SOS]
    judged.reset(SOS, 3, now_ms=16_100)
    assert judged.unsought(now_ms=40_000, after_ms=15_000) == []


def test_records_on_the_broker_never_fetched_after_a_seek_are_read_again():
    from monitor.offsets import JudgedOffsets, Verdict

    judged = JudgedOffsets(reread_after_ms=2_000)
    judged.reset(SOS, 1, now_ms=0)
    assert judged.take(SOS, 1, now_ms=10) is Verdict.JUDGE
    on_broker = {SOS: 5}.get  # the high-water mark: 2, 3 and 4 exist, the fetcher is silent
    assert judged.stalled(on_broker, in_flight=set(), now_ms=1_000) == []
    assert judged.stalled(on_broker, in_flight=set(), now_ms=2_100) == [SOS]
    assert judged.next(SOS) == 2
