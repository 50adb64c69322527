"""The stop check-in escalated by outreach ("help", or no answer): the critical long_stop opens at
once, exactly once, and clears like any long_stop; "I'm OK" (no request) leaves the 10 min."""

from __future__ import annotations

from core.checkin import HELP, StopEscalation, escalation_id, no_answer
from core.incidents import IncidentChange
from tests.monitor.test_detectors_stop_checkin import stand, started_trip
from tests.monitor.trips import Trip, on_route


def asked(trip: Trip, at: float, reason: str = HELP, since: float | None = 20) -> StopEscalation:
    checkin = f"{trip.order_id}:stop_checkin"
    stopped = None if since is None else trip.ts(since)
    return StopEscalation(
        event_id=escalation_id(checkin, stopped),
        order_id=trip.order_id,
        ts=trip.ts(at),
        checkin_incident_id=checkin,
        reason=reason,
        stopped_since_ts=stopped,
    )


def escalate(trip: Trip, request: StopEscalation) -> list[IncidentChange]:
    changes = trip.processor.on_stop_escalation(trip.state, request).changes
    trip.changes += changes
    return changes


def checked_in_trip() -> Trip:
    trip = started_trip()
    stand(trip, on_route(0.3), 20, 210)  # stopped at 20 s: the check-in opened at 200 s
    assert trip.is_open("stop_checkin") and "long_stop" not in trip.kinds_opened()
    return trip


def test_help_opens_the_critical_long_stop_at_once_with_the_facts():
    trip = checked_in_trip()
    changes = escalate(trip, asked(trip, 215))
    [long_stop] = [c for c in changes if c.action == "open"]
    assert long_stop.kind == "long_stop" and long_stop.severity == "critical"
    assert long_stop.trigger_ts == trip.ts(215) and long_stop.rule_id == "long-stop"
    assert "passenger asked for help" in long_stop.summary and "3m15s" in long_stop.summary
    details = long_stop.details
    assert details["escalation_reason"] == HELP and details["escalated_from"] == "o-1:stop_checkin"
    assert details["follows"] == ["o-1:stop_checkin"]  # the check-in was our first word
    assert details["stopped_since_ts"] == trip.ts(20) and details["on_route"] is True
    assert (details["lat"], details["lon"]) == on_route(0.3)
    [under] = [c for c in changes if c.action == "subordinate"]  # the check-in goes quiet under it
    assert under.kind == "stop_checkin" and under.subordinate_to == "o-1:long_stop"


def test_a_repeat_a_second_reason_and_the_ten_minutes_add_nothing():
    trip = checked_in_trip()
    escalate(trip, asked(trip, 215))
    assert escalate(trip, asked(trip, 216)) == []  # the same request again (a replay)
    assert escalate(trip, asked(trip, 330, reason=no_answer(120))) == []  # help, then the timeout
    stand(trip, on_route(0.3), 215, 700)  # past long_stop's own 10 min on the route
    trip.advance(720)
    assert len(trip.opened("long_stop")) == 1


def test_the_car_moving_on_resolves_it_like_any_long_stop():
    trip = checked_in_trip()
    escalate(trip, asked(trip, 215))
    trip.drive(240, 270, x0=0.31, x1=0.4)
    [resolved] = trip.resolved("long_stop")
    assert resolved.reason == "the car is moving again"


def test_a_car_that_moved_on_or_stopped_again_elsewhere_gets_no_long_stop():
    trip = checked_in_trip()
    trip.drive(215, 240, x0=0.31, x1=0.4)
    assert escalate(trip, asked(trip, 245)) == []  # moving: no stop to call long
    stand(trip, on_route(0.45), 245, 300)  # a new stop, later than the one asked about
    assert escalate(trip, asked(trip, 305)) == []
    assert "long_stop" not in trip.kinds_opened()


def test_a_trip_not_in_progress_changes_nothing():
    trip = checked_in_trip()
    other = StopEscalation(event_id="x", order_id="o-2", ts=trip.ts(215), checkin_incident_id="o-2:stop_checkin",
                           reason=HELP)  # fmt: skip
    trip.trip("trip.completed", 212)
    assert trip.processor.on_stop_escalation(trip.state, other).changes == []


def test_without_a_request_i_am_ok_leaves_long_stop_at_its_ten_minutes():
    trip = checked_in_trip()  # "I'm OK": outreach asks the worker nothing
    stand(trip, on_route(0.3), 215, 615)
    assert "long_stop" not in trip.kinds_opened()  # 9m55s standing
    stand(trip, on_route(0.3), 620, 630)
    [long_stop] = trip.opened("long_stop")
    assert long_stop.trigger_ts == trip.ts(20 + 600) and long_stop.severity == "critical"
    assert "escalation_reason" not in long_stop.details
