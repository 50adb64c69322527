"""SOS, crash, long stop, signal lost and early end, through the processor with the built-in pack."""

from __future__ import annotations

import orjson

from core import names
from monitor.decoding import decode_event
from tests.monitor.trips import DROPOFF, LIMITS, ROUTE, Trip, off_route, on_route


def started_trip() -> Trip:
    trip = Trip()
    trip.begin()
    return trip


def test_sos_opens_critical_at_once_with_source():
    trip = started_trip()
    [change] = trip.safety("sos.pressed", 30, source="driver", lat=52.52, lon=13.41)
    assert (change.kind, change.severity, change.trigger_ts) == ("sos", "critical", trip.ts(30))
    assert change.details["source"] == "driver" and change.details["lat"] == 52.52


def test_sos_redelivered_changes_nothing_and_other_signal_types_are_not_sos():
    trip = started_trip()
    trip.safety("sos.pressed", 30, event_id="s-1")
    assert trip.safety("sos.pressed", 30, event_id="s-1") == []
    assert trip.safety("safety.reported", 31) == []


def test_crash_signal_opens_critical():
    trip = started_trip()
    [change] = trip.safety("crash.detected", 40, source="sensor")
    assert (change.kind, change.severity) == ("crash_suspected", "critical")
    assert change.details["trigger"] == "crash_signal"


def test_violent_speed_drop_confirmed_by_next_ping_is_a_crash():
    trip = started_trip()
    trip.ping(20, on_route(0.1), speed=60)
    assert trip.ping(23, on_route(0.11), speed=0) == []  # not confirmed yet
    [change] = trip.ping(26, on_route(0.11), speed=0)
    assert change.kind == "crash_suspected" and change.trigger_ts == trip.ts(23)
    assert change.details["from_kmh"] == 60 and change.details["to_kmh"] == 0


def test_speed_glitch_that_recovers_is_not_a_crash():
    trip = started_trip()
    trip.ping(20, on_route(0.1), speed=60)
    trip.ping(23, on_route(0.11), speed=0)
    trip.ping(26, on_route(0.12), speed=58)
    assert "crash_suspected" not in trip.kinds_opened()


def test_hard_braking_for_a_red_light_is_not_a_crash():
    trip = started_trip()
    for t, speed in ((20, 50), (23, 30), (26, 8), (29, 0), (32, 0)):  # about 10 km/h per second
        trip.ping(t, on_route(0.1), speed=speed)
    assert "crash_suspected" not in trip.kinds_opened()


def test_speed_drop_across_a_gap_is_not_a_crash():
    trip = started_trip()
    trip.ping(20, on_route(0.1), speed=60)
    trip.ping(40, on_route(0.2), speed=0)  # 20 s later: parked, not crashed
    trip.ping(43, on_route(0.2), speed=0)
    assert "crash_suspected" not in trip.kinds_opened()


def test_crash_from_pings_arriving_out_of_order():
    trip = started_trip()
    trip.ping(20, on_route(0.1), speed=60)
    trip.ping(26, on_route(0.11), speed=0)
    [change] = trip.ping(23, on_route(0.11), speed=0, arrive=27)  # the drop arrives last
    assert change.kind == "crash_suspected" and change.trigger_ts == trip.ts(23)


def stop_at(trip: Trip, point, start: float, end: float, every: float = 5.0, speed: float = 0.0) -> list:
    out = []
    t = start
    while t <= end:
        out += trip.ping(t, point, speed=speed)
        t += every
    return out


def test_long_stop_away_from_route_and_dropoff_opens_on_the_clock():
    trip = started_trip()
    trip.drive(12, 60, x1=0.3)
    stop_point = off_route(0.3, 100)
    stop_at(trip, stop_point, 63, 240)  # pings until 240; the stop began at 63
    assert not trip.is_open("long_stop")
    changes = trip.advance(63 + 180 + 1.0)  # deadline plus the allowed lateness
    [change] = [c for c in changes if c.kind == "long_stop"]
    assert change.trigger_ts == trip.ts(243) and change.severity == "critical"
    assert change.details["on_route"] is False


def test_long_stop_fires_even_when_pings_stop():
    trip = started_trip()
    stop_at(trip, off_route(0.3, 100), 20, 40)
    trip.advance(20 + 180 + 1)
    assert trip.opened("long_stop")


def test_long_stop_resolves_when_the_car_moves_again():
    trip = started_trip()
    stop_at(trip, off_route(0.3, 100), 20, 230)
    trip.advance(202)
    assert trip.is_open("long_stop")
    trip.ping(233, off_route(0.32, 100), speed=30)
    assert not trip.is_open("long_stop")
    assert trip.resolved("long_stop")[0].reason == "the car is moving again"


def test_red_light_is_not_a_long_stop():
    trip = started_trip()
    trip.drive(12, 50, x1=0.2)
    stop_at(trip, on_route(0.2), 53, 143)  # 90 s at a light
    trip.drive(146, 300, x0=0.2, x1=0.6)
    trip.advance(400)
    assert "long_stop" not in trip.kinds_opened()


def test_crawling_jam_is_not_a_long_stop():
    trip = started_trip()
    # 2 km/h for 6 minutes: under the speed limit of a stop, but it creeps out of the radius
    for i in range(120):
        trip.ping(12 + 3 * i, on_route(0.2 + i * 0.0003), speed=2)
    trip.advance(400)
    assert "long_stop" not in trip.kinds_opened()


def test_standing_jam_on_the_route_needs_the_longer_threshold():
    trip = started_trip()
    stop_at(trip, on_route(0.4), 20, 500, every=5)  # 8 min standing on the route
    trip.advance(500)
    assert "long_stop" not in trip.kinds_opened()
    stop_at(trip, on_route(0.4), 505, 625, every=5)
    trip.advance(625)
    assert trip.opened("long_stop")  # 10 min: now it is one


def test_stop_near_the_dropoff_is_not_a_long_stop():
    trip = started_trip()
    stop_at(trip, (DROPOFF[0] + 0.0005, DROPOFF[1]), 20, 400)
    trip.advance(420)
    assert "long_stop" not in trip.kinds_opened()


def test_late_moving_ping_restarts_the_stop():
    trip = started_trip()
    stop_at(trip, off_route(0.3, 100), 20, 150)
    trip.ping(101, off_route(0.3, 100), speed=25, arrive=151)  # it moved at 101, we learn late
    trip.advance(20 + 181)
    assert not trip.opened("long_stop")
    stop_at(trip, off_route(0.3, 100), 155, 290)
    trip.advance(101 + 181)
    assert trip.opened("long_stop")


def test_signal_lost_fires_on_the_clock_and_resolves_when_pings_return():
    trip = started_trip()
    trip.drive(12, 60, x1=0.2)
    assert trip.advance(60 + 90) == []  # exactly at the deadline: waits the allowed lateness
    [change] = trip.advance(60 + 91)
    assert (change.kind, change.trigger_ts, change.severity) == ("signal_lost", trip.ts(150), "high")
    trip.ping(200, on_route(0.3))
    assert trip.resolved("signal_lost")[0].reason == "telemetry is back"


def test_late_ping_within_lateness_prevents_a_false_signal_lost():
    trip = started_trip()
    trip.drive(12, 60, x1=0.2)
    trip.ping(140, on_route(0.25), arrive=150.5)  # 10 s late, but before the deadline fired
    trip.advance(151)
    assert "signal_lost" not in trip.kinds_opened()


def test_no_signal_lost_before_start_or_after_end():
    trip = Trip()
    trip.created()
    trip.assigned()
    trip.advance(400)
    assert "signal_lost" not in trip.kinds_opened()
    trip.started(at=410)
    trip.drive(412, 430, x1=0.1)
    trip.trip("trip.completed", 431)
    trip.advance(900)
    assert "signal_lost" not in trip.kinds_opened()


def test_completed_far_from_dropoff_is_an_early_end_judged_after_the_lateness():
    trip = started_trip()
    trip.drive(12, 200, x1=0.5)
    assert trip.trip("trip.completed", 202) == []
    [change] = trip.advance(203.1)
    assert (change.kind, change.trigger_ts, change.severity) == ("early_end", trip.ts(202), "high")
    assert change.details["distance_m"] > 1500


def test_completed_at_the_dropoff_is_no_early_end_even_if_the_last_pings_are_late():
    trip = started_trip()
    trip.drive(12, 390, x1=0.97)
    trip.trip("trip.completed", 400)
    trip.ping(397, on_route(1.0), speed=5, arrive=400.5)  # the last ping arrives after completion
    trip.advance(500)
    assert "early_end" not in trip.kinds_opened()


def test_early_end_needs_a_recent_position():
    trip = started_trip()
    trip.drive(12, 30, x1=0.1)
    trip.trip("trip.completed", 400)  # last ping 370 s before: cannot judge
    trip.advance(500)
    assert "early_end" not in trip.kinds_opened()


def pings_then_late_start(trip: Trip, started_arrives: float) -> None:
    """A stop off the route (63..243 s), then the car drives on; `trip.started` (10 s) is read
    only after all of them, as when a worker catches up and telemetry is read ahead."""
    trip.created()
    trip.assigned()
    trip.trip("driver.arrived", 8)
    trip.drive(12, 60, every=12, x1=0.3)
    stop_at(trip, off_route(0.3, 100), 63, 243, every=30)
    trip.drive(250, 256, every=6, x0=0.3, x1=0.32)
    assert not trip.changes
    trip.trip("trip.started", 10, arrive=started_arrives, eta_dropoff_ts=trip.ts(900), route=ROUTE)


def test_a_stop_read_before_its_trip_started_is_judged_before_the_ping_that_ends_it():
    trip = Trip()
    pings_then_late_start(trip, started_arrives=290)
    [opened] = trip.opened("long_stop")
    assert opened.trigger_ts == trip.ts(63 + 180)
    assert trip.resolved("long_stop")  # the car drove on at 250 s


def test_pings_past_a_deadline_the_partition_is_not_read_to_wait_for_it():
    trip = Trip()
    trip.created()
    trip.assigned()
    trip.trip("driver.arrived", 8)
    trip.drive(12, 60, every=12, x1=0.3)
    stop_at(trip, off_route(0.3, 100), 63, 243, every=30)
    trip.drive(250, 256, every=6, x0=0.3, x1=0.32)
    event = {"event_id": "late-start", "type": "trip.started", "order_id": trip.order_id, "ts": trip.ts(10),
             "city": "berlin", "eta_dropoff_ts": trip.ts(900), "route": ROUTE}  # fmt: skip
    started = decode_event(names.TRIP_EVENTS, orjson.dumps(event), LIMITS, now_ms=trip.ts(10))
    # the partition is read only to 100 s: the stop's deadline (243 s) cannot be judged yet
    outcome = trip.processor.on_event(trip.state, started, event_time_ms=trip.ts(100))
    assert not [c for c in outcome.changes if c.kind == "long_stop"]
    assert trip.state.replay_from_ts is not None  # the stop's later pings wait for its deadline
    later = trip.processor.on_clock(trip.state, trip.ts(400), event_time_ms=trip.ts(400))
    assert [(c.kind, c.action) for c in later.changes if c.kind == "long_stop"] == [
        ("long_stop", "open"),
        ("long_stop", "resolve"),
    ]
    assert trip.state.replay_from_ts is None
