"""The soft check-in on a stop on the planned route, and the jam that keeps it silent."""

from __future__ import annotations

from monitor.processor import TripProcessor
from rules.loader import load_rule_dir
from tests.monitor.trips import DROPOFF, PACK, Trip, off_route, on_route


def started_trip(processor: TripProcessor | None = None, order_id: str = "o-1") -> Trip:
    trip = Trip(processor=processor, order_id=order_id)
    trip.begin()
    return trip


def stand(trip: Trip, point, start: float, end: float, every: float = 5.0, speed: float = 0.0) -> None:
    t = start
    while t <= end:
        trip.ping(t, point, speed=speed)
        t += every


def neighbours(processor: TripProcessor, count: int) -> list[Trip]:
    return [started_trip(processor, order_id=f"o-near-{n}") for n in range(count)]


def test_a_stop_on_the_route_gets_the_check_in_at_three_minutes_not_a_long_stop():
    trip = started_trip()
    trip.drive(12, 50, x0=0.0, x1=0.3)
    stand(trip, on_route(0.3), 55, 230)  # stopped at 55 s
    assert "stop_checkin" not in trip.kinds_opened()
    stand(trip, on_route(0.3), 235, 250)
    [change] = trip.opened("stop_checkin")
    assert change.severity == "high" and change.trigger_ts == trip.ts(55 + 180)
    assert "long_stop" not in trip.kinds_opened()  # the critical one waits for 10 min


def test_the_check_in_fires_on_the_clock_even_without_pings():
    trip = started_trip()
    stand(trip, on_route(0.3), 20, 120)
    trip.advance(20 + 182)  # 80 s without a ping: short of signal_lost's 90
    assert trip.opened("stop_checkin") and not trip.opened("signal_lost")


def test_a_car_gone_silent_while_stopped_is_the_lost_signal_s_not_a_check_in():
    trip = started_trip()
    stand(trip, on_route(0.3), 20, 40)
    trip.advance(20 + 240)
    assert trip.opened("signal_lost") and "stop_checkin" not in trip.kinds_opened()


def test_the_car_moving_on_resolves_it_and_a_long_stop_still_comes_at_ten_minutes():
    trip = started_trip()
    stand(trip, on_route(0.3), 20, 210)
    assert trip.is_open("stop_checkin")
    stand(trip, on_route(0.3), 215, 625)
    [long_stop] = trip.opened("long_stop")  # the critical alert is unchanged
    assert long_stop.details["follows"] == ["o-1:stop_checkin"]
    trip.drive(630, 660, x0=0.31, x1=0.4)
    assert trip.resolved("stop_checkin")[0].reason == "the car is moving again"


def test_cars_held_up_around_it_make_it_a_jam_and_silent():
    processor = TripProcessor(load_rule_dir(PACK))
    others = neighbours(processor, 3)
    trip = started_trip(processor)
    for t in range(20, 400, 5):
        for n, other in enumerate(others):  # standing and creeping within 200 m behind it
            other.ping(t + 0.5 + n * 0.1, on_route(0.3 - 0.001 * (n + 1)), speed=2.0 if t % 20 else 6.0)
        trip.ping(t, on_route(0.3), speed=0.0)
    assert "stop_checkin" not in trip.kinds_opened()
    assert trip.state.stops["stop-checkin"].jam_ts is not None


def test_cars_moving_freely_past_it_are_no_jam():
    processor = TripProcessor(load_rule_dir(PACK))
    others = neighbours(processor, 3)
    trip = started_trip(processor)
    for t in range(20, 240, 5):
        for n, other in enumerate(others):
            other.ping(t + 0.5 + n * 0.1, on_route(0.3 + 0.0005 * (n - 1)), speed=40.0)
        trip.ping(t, on_route(0.3), speed=0.0)
    assert trip.opened("stop_checkin")


def test_a_jam_on_a_cross_street_is_not_its_jam():
    processor = TripProcessor(load_rule_dir(PACK))
    others = neighbours(processor, 4)
    trip = started_trip(processor)
    for t in range(20, 240, 5):
        for n, other in enumerate(others):  # held up 120 m north of it, off its route
            other.ping(t + 0.5 + n * 0.1, off_route(0.3 + 0.0005 * n, 120), speed=0.0)
        trip.ping(t, on_route(0.3), speed=0.0)
    assert trip.opened("stop_checkin")


def test_a_jam_heading_its_way_is_its_jam():
    processor = TripProcessor(load_rule_dir(PACK))
    others = neighbours(processor, 3)
    trip = started_trip(processor)
    for t in range(20, 400, 5):
        for n, other in enumerate(others):  # queued ahead of it, facing east as it does
            other.ping(t + 0.5 + n * 0.1, on_route(0.3 + 0.001 * (n + 1)), speed=0.0, heading=90.0)
        trip.ping(t, on_route(0.3), speed=0.0, heading=90.0)
    assert "stop_checkin" not in trip.kinds_opened()


def test_cross_traffic_and_oncoming_cars_held_up_on_its_road_are_not_its_jam():
    processor = TripProcessor(load_rule_dir(PACK))
    others = neighbours(processor, 4)
    trip = started_trip(processor)
    for t in range(20, 240, 5):  # a queue at the junction 80 m ahead, and a queue coming the other way
        for n, other in enumerate(others):
            heading = 0.0 if n < 2 else 270.0
            other.ping(t + 0.5 + n * 0.1, on_route(0.302 + 0.0002 * n), speed=0.0, heading=heading)
        trip.ping(t, on_route(0.3), speed=0.0, heading=90.0)
    assert trip.opened("stop_checkin")


def test_cars_that_stop_behind_it_after_it_stood_are_not_its_jam():
    processor = TripProcessor(load_rule_dir(PACK))
    others = neighbours(processor, 3)
    trip = started_trip(processor)
    trip.drive(12, 18, x0=0.29, x1=0.3)
    for t in range(20, 240, 5):  # it stops first; 90 s later the lane behind it fills up
        trip.ping(t, on_route(0.3), speed=0.0, heading=90.0)
        for n, other in enumerate(others):
            speed = 40.0 if t < 110 else 0.0
            other.ping(t + 0.5 + n * 0.1, on_route(0.3 - 0.001 * (n + 1)), speed=speed, heading=90.0)
    assert trip.opened("stop_checkin")


def test_one_car_held_up_is_no_jam_but_an_eta_slip_makes_it_one():
    processor = TripProcessor(load_rule_dir(PACK))
    [other] = neighbours(processor, 1)
    trip = started_trip(processor)

    def both(start: int, end: int) -> None:
        for t in range(start, end, 5):
            other.ping(t + 0.5, on_route(0.298), speed=0.0)
            trip.ping(t, on_route(0.3), speed=0.0)

    both(20, 100)
    assert trip.state.stops["stop-checkin"].jam_ts is None  # one car alone: no evidence
    trip.trip("trip.eta_updated", 101, eta_dropoff_ts=trip.ts(1100))  # the platform sees the delay
    both(105, 240)
    assert "stop_checkin" not in trip.kinds_opened()


def test_cars_far_away_or_long_gone_do_not_count():
    processor = TripProcessor(load_rule_dir(PACK))
    others = neighbours(processor, 3)
    for n, other in enumerate(others):
        other.ping(15, on_route(0.3), speed=0.0)  # here, but 3 min before the stop's pings
        other.ping(200, on_route(0.6 + n * 0.01), speed=0.0)  # stopped, but 1 km away
    trip = started_trip(processor)
    stand(trip, on_route(0.3), 200, 400)
    assert trip.opened("stop_checkin")


def test_a_stop_beside_the_route_is_asked_about_at_ninety_seconds_and_the_long_stop_follows_it():
    trip = started_trip()
    stand(trip, off_route(0.3, 100), 20, 105)
    assert "stop_checkin" not in trip.kinds_opened()
    stand(trip, off_route(0.3, 100), 110, 240)
    [asked] = trip.opened("stop_checkin")
    assert asked.trigger_ts == trip.ts(20 + 90) and asked.details["on_route"] is False
    assert "beside the route for 1m30s" in asked.summary
    [long_stop] = trip.opened("long_stop")
    assert long_stop.trigger_ts == trip.ts(20 + 180)
    assert long_stop.details["follows"] == ["o-1:stop_checkin"]  # the check-in spoke first


def test_a_long_stop_without_a_check_in_on_its_stop_follows_nothing():
    trip = started_trip()
    stand(trip, off_route(0.3, 100), 20, 60)
    trip.safety("sos.pressed", 61)  # a critical alert is out: no softer question
    stand(trip, off_route(0.3, 100), 65, 240)
    assert "stop_checkin" not in trip.kinds_opened()
    [long_stop] = trip.opened("long_stop")
    assert "follows" not in long_stop.details


def test_a_stop_near_the_dropoff_is_not_a_check_in():
    near = started_trip(order_id="o-2")
    stand(near, (DROPOFF[0], DROPOFF[1] - 0.001), 20, 300)
    assert "stop_checkin" not in near.kinds_opened()


def test_an_sos_during_the_stop_opens_at_once_and_no_softer_question_follows():
    trip = started_trip()
    stand(trip, on_route(0.3), 20, 120)
    [sos] = trip.safety("sos.pressed", 121)
    assert sos.severity == "critical"
    stand(trip, on_route(0.3), 125, 300)
    assert "stop_checkin" not in trip.kinds_opened()
