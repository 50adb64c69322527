"""Trip delay, driver and system cancellations."""

from __future__ import annotations

from monitor.processor import TripProcessor
from rules.loader import load_rules
from tests.monitor.trips import PACK, Trip, on_route


def test_eta_slip_beyond_threshold_opens_low_and_completion_resolves():
    trip = Trip()
    trip.begin()  # ETA at start: 900 s
    trip.drive(12, 300, x1=0.3)
    assert trip.trip("trip.eta_updated", 100, eta_dropoff_ts=trip.ts(1400), arrive=301) == []  # 500 s
    [change] = trip.trip("trip.eta_updated", 302, eta_dropoff_ts=trip.ts(1600))
    assert (change.kind, change.severity, change.details["slip_s"]) == ("trip_delay", "low", 700)
    trip.trip("trip.completed", 1500)
    assert trip.resolved("trip_delay")[0].reason == "trip ended (completed)"


def test_with_overdue_a_trip_still_running_long_after_its_eta_is_delayed():
    text = (PACK / "trip_delay.yaml").read_text().replace("overdue: false", "overdue: true")
    trip = Trip(processor=TripProcessor(load_rules({"trip_delay.yaml": text})))
    trip.begin()
    trip.drive(12, 1400, every=10, x1=0.9)
    changes = [c for c in trip.advance(1501) if c.kind == "trip_delay"]
    assert changes[0].details["trigger"] == "overdue" and changes[0].trigger_ts == trip.ts(1500)


def test_by_default_only_the_eta_slipping_is_a_trip_delay():
    trip = Trip()
    trip.begin()
    trip.drive(12, 1400, every=10, x1=0.9)
    trip.advance(1600)
    assert "trip_delay" not in trip.kinds_opened()


def test_accepted_reroute_sets_a_new_baseline():
    trip = Trip()
    trip.begin()
    trip.trip(
        "trip.rerouted",
        100,
        route=[[52.52, 13.40], [52.53, 13.43], [52.52, 13.46]],
        eta_dropoff_ts=trip.ts(1600),
    )
    trip.trip("trip.eta_updated", 200, eta_dropoff_ts=trip.ts(1700))
    assert "trip_delay" not in trip.kinds_opened()


def test_out_of_order_eta_updates_keep_the_latest():
    trip = Trip()
    trip.begin()
    trip.trip("trip.eta_updated", 300, eta_dropoff_ts=trip.ts(950))
    trip.trip("trip.eta_updated", 200, eta_dropoff_ts=trip.ts(1700), arrive=301)  # older news
    assert "trip_delay" not in trip.kinds_opened()


def test_driver_cancellation_is_high_a_repeat_critical_and_a_new_driver_arriving_resolves():
    trip = Trip()
    trip.created()
    trip.assigned(driver="d-1")
    [first] = trip.trip("order.cancelled", 60, cancelled_by="driver", reason="too far")
    assert (first.kind, first.severity, first.details["cancellations"]) == ("driver_cancellation", "high", 1)
    assert not trip.state.ended  # the order lives on
    trip.assigned(at=70, driver="d-2")
    [repeat] = trip.trip("order.cancelled", 90, cancelled_by="driver")
    assert repeat.severity == "critical" and repeat.details["cancellations"] == 2
    trip.assigned(at=100, driver="d-3")
    trip.trip("driver.arrived", 200)
    assert trip.resolved("driver_cancellation")[0].reason == "a new driver arrived"


def test_system_and_passenger_cancellations():
    trip = Trip()
    trip.created()
    [change] = trip.trip("order.cancelled", 60, cancelled_by="system", reason="no driver found")
    assert (change.kind, change.severity) == ("system_cancellation", "high")
    assert "no driver found" in change.summary and trip.state.ended
    other = Trip(order_id="o-2")
    other.created()
    assert other.trip("order.cancelled", 60, cancelled_by="passenger") == []


def test_pickup_delay_still_works_on_the_clock():
    trip = Trip()
    trip.created(promised=300)
    trip.assigned()
    [change] = trip.advance(300 + 120 + 1)
    assert change.kind == "pickup_delay" and change.trigger_ts == trip.ts(420)
    trip.trip("driver.arrived", 430)
    assert trip.resolved("pickup_delay")


def test_a_quiet_good_trip_raises_nothing():
    trip = Trip()
    trip.begin()
    trip.drive(12, 800, every=4)
    trip.ping(803, on_route(1.0), speed=0)
    trip.trip("trip.completed", 805)
    trip.payment("payment.captured", 806)
    trip.advance(5000)
    assert trip.changes == []
