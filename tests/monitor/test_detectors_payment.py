"""Payment failure and double charge."""

from __future__ import annotations

from tests.monitor.trips import Trip


def paying_trip() -> Trip:
    trip = Trip()
    trip.created()
    return trip


def test_transient_failure_without_retry_opens_after_the_grace_with_code_and_attempt():
    trip = paying_trip()
    assert trip.payment("payment.failed", 100, code="processing_error", attempt=1) == []
    assert trip.advance(120.9) == []
    [change] = trip.advance(121)
    assert (change.kind, change.severity, change.trigger_ts) == ("payment_failure", "medium", trip.ts(100))
    assert change.details["code"] == "processing_error" and change.details["attempt"] == 1


def test_retry_that_succeeds_raises_nothing():
    trip = paying_trip()
    trip.payment("payment.failed", 100, code="processing_error", attempt=1)
    trip.payment("payment.captured", 105, payment_id="pay-1")
    trip.advance(300)
    assert trip.changes == []


def test_failure_arriving_after_a_later_capture_is_history():
    trip = paying_trip()
    trip.payment("payment.captured", 105)
    trip.payment("payment.failed", 100, code="card_declined", attempt=1, arrive=106)
    trip.payment("payment.failed", 101, code="processing_error", attempt=1, arrive=107)
    trip.advance(300)
    assert trip.changes == []


def test_repeated_failures_escalate_and_a_later_capture_resolves():
    trip = paying_trip()
    [first] = trip.payment("payment.failed", 100, code="card_declined", attempt=1)
    assert first.severity == "medium"
    [escalated] = trip.payment("payment.failed", 130, code="insufficient_funds", attempt=2)
    assert escalated.severity == "high" and escalated.details["failures"] == 2
    assert "2 times" in escalated.summary
    trip.payment("payment.captured", 200, payment_id="pay-2")
    assert trip.resolved("payment_failure")[0].reason == "payment captured"


def test_codes_the_passenger_must_act_on_open_at_once():
    for code in ("card_declined", "insufficient_funds", "expired_card", "fraud_suspected"):
        trip = paying_trip()
        [change] = trip.payment("payment.failed", 100, code=code, attempt=1)
        assert change.kind == "payment_failure" and change.details["code"] == code
        assert change.trigger_ts == trip.ts(100)


def test_duplicate_failure_event_changes_nothing():
    trip = paying_trip()
    trip.payment("payment.failed", 100, code="processing_error", attempt=1, event_id="f-1")
    trip.payment("payment.failed", 100, code="processing_error", attempt=1, event_id="f-1")
    [change] = trip.advance(121)
    assert change.severity == "medium" and change.details["failures"] == 1


def test_two_captures_with_different_payment_ids_are_a_double_charge():
    trip = paying_trip()
    assert trip.payment("payment.captured", 100, payment_id="pay-1") == []
    [change] = trip.payment("payment.captured", 101, payment_id="pay-2")
    assert (change.kind, change.severity) == ("double_charge", "high")
    assert change.details["payment_ids"] == ["pay-1", "pay-2"] and change.trigger_ts == trip.ts(101)


def test_redelivered_capture_is_not_a_double_charge():
    trip = paying_trip()
    trip.payment("payment.captured", 100, payment_id="pay-1", event_id="c-1")
    trip.payment("payment.captured", 100, payment_id="pay-1", event_id="c-1")
    trip.payment("payment.captured", 102, payment_id="pay-1", event_id="c-1-again")
    assert trip.changes == []


def test_refund_of_the_extra_capture_resolves_the_double_charge():
    trip = paying_trip()
    trip.payment("payment.captured", 100, payment_id="pay-1")
    trip.payment("payment.captured", 101, payment_id="pay-2")
    trip.payment("payment.refunded", 300, payment_id="pay-2")
    assert trip.resolved("double_charge")[0].reason == "extra capture refunded"
