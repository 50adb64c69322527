"""The processor's bookkeeping: one incident per kind, inhibition, restarts, cheap pings, retention."""

from __future__ import annotations

import orjson

from core import names
from core.incidents import Incident, IncidentChange, transition
from monitor.deadlines import DeadlineQueue
from monitor.decoding import decode_event
from monitor.processor import TripProcessor
from monitor.trip_state import TripState, decode_state, encode_state, trip_expired
from rules.loader import load_rule_dir
from tests.monitor.trips import LIMITS, PACK, Trip, off_route, on_route


def test_critical_incident_makes_lesser_open_ones_subordinate_and_releases_them_on_resolve():
    trip = Trip()
    trip.created(promised=300)
    trip.assigned()
    trip.payment("payment.failed", 5, code="fraud_suspected", attempt=1)  # medium, at once
    changes = trip.safety("sos.pressed", 30)
    [sos] = [c for c in changes if c.kind == "sos"]
    [sub] = [c for c in changes if c.action == "subordinate"]
    assert sos.subordinate_to is None and sub.kind == "payment_failure"
    assert sub.subordinate_to == "o-1:sos"
    # a lesser incident opened later is born subordinate
    [pickup] = [c for c in trip.advance(421) if c.kind == "pickup_delay"]
    assert pickup.subordinate_to == "o-1:sos"


def test_resolving_the_critical_one_releases_the_rest():
    trip = Trip()
    trip.begin()
    trip.payment("payment.failed", 12, code="fraud_suspected", attempt=1)
    for t in range(20, 40, 5):
        trip.ping(t, off_route(0.3, 100), speed=0)
    trip.advance(20 + 181)  # long stop (critical), signal lost too
    assert trip.state.dominant == "o-1:long_stop"
    assert trip.state.open_incidents["signal_lost"].severity == "high"
    changes = trip.ping(205, off_route(0.32, 100), speed=30)  # moving again: both clear
    released = [c for c in changes if c.action == "subordinate"]
    assert {c.kind for c in released} == {"payment_failure"} and released[0].subordinate_to is None
    assert trip.state.dominant is None


def test_transition_applies_and_repeats_subordination_idempotently():
    opened = transition(None, IncidentChange(action="open", kind="k", order_id="o", summary="s"), 1)
    assert isinstance(opened, Incident) and opened.subordinate_to is None
    change = IncidentChange(action="subordinate", kind="k", order_id="o", subordinate_to="o:sos")
    under = transition(opened, change, 2)
    assert under is not None and under.subordinate_to == "o:sos" and under.revision == 2
    assert transition(under, change, 3) is None


def test_one_incident_per_kind_a_repeat_trigger_changes_nothing():
    trip = Trip()
    trip.created()
    trip.safety("sos.pressed", 30)
    trip.safety("sos.pressed", 31)
    assert list(trip.state.open_incidents) == ["sos"]
    first, second = trip.opened("sos")
    assert (first.severity, second.severity) == ("critical", "critical")


def test_pings_write_the_table_only_when_a_restart_needs_it():
    trip = Trip()
    trip.begin()
    assert trip.processor.checkpoint_ms == 30_000
    written = 0
    for i in range(300):  # one ping a second, on the route
        lat, lon = on_route(0.001 * i)
        event = {
            "order_id": "o-1",
            "driver_id": "d",
            "ts": trip.ts(12 + i),
            "lat": lat,
            "lon": lon,
            "speed_kmh": 30,
        }
        ping = decode_event(names.TELEMETRY, orjson.dumps(event), LIMITS)
        written += trip.processor.on_event(trip.state, ping).state_changed
    assert 9 <= written <= 11  # one checkpoint per 30 s of pings, not one per ping


def test_duplicate_ping_without_event_id_is_dropped_by_ts():
    trip = Trip()
    trip.begin()
    trip.ping(20, on_route(0.1), speed=60)
    trip.ping(23, on_route(0.11), speed=0)
    trip.ping(23, on_route(0.11), speed=0)
    assert [p.ts for p in trip.state.pings].count(trip.ts(23)) == 1


def test_state_survives_a_restart_and_deadlines_are_rearmed():
    trip = Trip()
    trip.begin()
    for t in range(20, 195, 5):
        trip.ping(t, off_route(0.3, 100), speed=0)
    restored = decode_state(encode_state(trip.state))
    fresh = TripProcessor(load_rule_dir(PACK))  # a new worker
    due = fresh.next_deadline(restored)
    assert due == trip.ts(20 + 180) + 1000  # the long stop began at 20 s; plus allowed lateness
    assert trip.opened("stop_checkin")  # beside the route: asked at 110 s, before the restart
    changes = fresh.on_clock(restored, due).changes
    assert {c.kind for c in changes if c.action == "open"} == {"long_stop"}
    assert {(c.kind, c.action) for c in changes} <= {("long_stop", "open"), ("stop_checkin", "subordinate")}
    assert fresh.on_clock(restored, due + 10).changes == []  # a deadline fires once


def test_turned_down_or_judged_deadlines_do_not_refire():
    trip = Trip()
    trip.begin()
    trip.drive(12, 390, x1=0.5)
    trip.trip("trip.completed", 400)
    trip.advance(402)
    assert trip.processor.next_deadline(trip.state) is None


def test_finished_trips_expire_after_retention_silent_ones_after_the_idle_timeout():
    state = TripState(order_id="o", ended_ts=1_000, last_event_ts=1_000)
    assert not trip_expired(state, 1_000 + 3_600_000, 3_600_000, 86_400_000)
    assert trip_expired(state, 1_001 + 3_600_000, 3_600_000, 86_400_000)
    silent = TripState(order_id="o", last_event_ts=1_000)
    assert not trip_expired(silent, 2_000_000, 3_600_000, 86_400_000)
    assert trip_expired(silent, 1_001 + 86_400_000, 3_600_000, 86_400_000)


def test_deadline_queue_keeps_the_earliest_per_trip():
    queue = DeadlineQueue()
    for due in (300, 200, 400, 200):
        queue.push(due, "a")
    queue.push(250, "b")
    assert len(queue) == 2
    assert queue.pop_due(199) == []
    assert queue.pop_due(260) == ["a", "b"]
    assert queue.pop_due(1_000) == []  # the superseded entries are skipped


def test_a_route_is_held_as_one_array_and_stored_as_the_same_json_pairs():
    from monitor.route import Route

    route = Route([(52.5, 13.4), (52.6, 13.5)])
    assert route == [(52.5, 13.4), (52.6, 13.5)] and route[-1] == (52.6, 13.5) and len(route) == 2
    assert route.__sizeof__() < 200  # a list of two tuples of floats is ~300 B of objects
    state = TripState(order_id="r", route=route)
    raw = encode_state(state)
    assert b'"route":[[52.5,13.4],[52.6,13.5]]' in raw
    assert b"null" not in raw  # defaults are not stored
    assert decode_state(raw) == state
    old = b'{"order_id":"r","city":null,"route":[[52.5,13.4],[52.6,13.5]]}'  # as stored before
    assert decode_state(old).route == route


def test_a_route_of_seven_decimals_is_held_as_integers_and_given_back_exactly():
    from monitor.route import Route

    points = [(52.5200066, 13.404954), (-33.8688197, 151.2092955), (0.0, -180.0), (89.9999999, 179.9999999)]
    route = Route(points)
    doubles = Route([(lat, lon + 1e-12) for lat, lon in points])  # beyond 1e-7 degree
    assert list(route) == points and route.__sizeof__() == doubles.__sizeof__() - 8 * len(points)
    assert decode_state(encode_state(TripState(order_id="r", route=route))).route == points
    odd = [(52.502, 13.402000000000001)]  # more digits than 1e-7 degree holds: kept as doubles
    assert list(Route(odd)) == odd


def test_a_city_route_is_held_as_steps_and_reads_back_exactly():
    from monitor.route import Form, Route

    points = [(round(52.5 + k * 2e-3, 6), round(13.4 - k * 1.7e-3, 7)) for k in range(50)]
    route = Route(points)
    assert route.packed()[1] == Form.STEPS and len(route.packed()[0]) == 8 + 4 * 49
    assert list(route) == points and len(route) == 50
    assert [route[k] for k in (0, 1, 17, 49, -1)] == [points[k] for k in (0, 1, 17, 49, -1)]
    assert route[10:13] == points[10:13]
    assert Route.from_packed(*route.packed()) == points
    far = points + [(53.0, 13.4)]  # a step of 55 km: each point held whole
    assert Route(far).packed()[1] == Form.INTEGERS and list(Route(far)) == far
    assert list(Route(points[:1])) == points[:1] and Route(points[:1])[0] == points[0]
    assert list(Route([])) == [] and len(Route([])) == 0
