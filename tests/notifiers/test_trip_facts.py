"""The trip as it stands now (notifiers/trip_facts.py), and messages rendered from it by the engine."""

from __future__ import annotations

from typing import Any

import pytest

from core import models
from core.models import Passenger
from core.trip_log import TripLog
from notifiers.model import IncidentView
from notifiers.trip_facts import TripFacts, ending, read_trip_facts, trip_facts
from tests.notifiers.conftest import add_passenger
from tests.notifiers.test_outreach import drain, parts

T0 = 1_800_000_000_000
MAX = {"id": "d1", "name": "Max Mustermann", "plate": "B-MM 1"}
JONAS = {"id": "d2", "name": "Jonas Weber", "plate": "B-TW 1234"}
LENA = {"id": "d3", "name": "Lena Vogel", "plate": "B-LV 77"}


def event(kind: str, minute: float, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "event_id": f"{kind}@{minute}",
        "order_id": "o1",
        "ts": T0 + int(minute * 60_000),
        **fields,
    }


def assigned(driver: dict[str, str], minute: float, eta_minute: float) -> dict[str, Any]:
    return event("driver.assigned", minute, driver=driver, eta_pickup_ts=T0 + int(eta_minute * 60_000))


def cancelled(by: str, minute: float) -> dict[str, Any]:
    return event("order.cancelled", minute, cancelled_by=by)


def test_a_driver_who_cancelled_is_not_the_current_driver() -> None:
    log = [assigned(MAX, 0, 8), cancelled("driver", 2), assigned(JONAS, 3, 12), cancelled("driver", 5)]
    facts = trip_facts(log)
    assert facts.known and facts.driver is None and facts.eta_pickup_ts is None
    assert facts.driver_cancellations == 2 and not facts.ended
    facts = trip_facts(
        [*log, assigned(LENA, 6, 14), event("driver.eta_updated", 7, eta_pickup_ts=T0 + 15 * 60_000)]
    )
    assert facts.driver == LENA and facts.eta_pickup_ts == T0 + 15 * 60_000


def test_an_eta_for_a_driver_who_cancelled_is_ignored() -> None:
    log = [assigned(MAX, 0, 8), cancelled("driver", 2), event("driver.eta_updated", 3, eta_pickup_ts=T0)]
    assert trip_facts(log).eta_pickup_ts is None


def test_dropoff_eta_and_the_end_of_the_trip() -> None:
    log = [
        assigned(MAX, 0, 5),
        event("driver.arrived", 5),
        event("trip.started", 6, eta_dropoff_ts=T0 + 30 * 60_000, route=[]),
        event("trip.eta_updated", 20, eta_dropoff_ts=T0 + 40 * 60_000),
    ]
    facts = trip_facts(log)
    assert facts.arrived and facts.eta_dropoff_ts == T0 + 40 * 60_000 and not facts.ended
    done = trip_facts([*log, event("trip.completed", 41, fare={"amount_minor": 1250, "currency": "EUR"})])
    assert done.completed and done.ended and done.fare["amount_minor"] == 1250
    assert trip_facts([cancelled("passenger", 1)]).cancelled_by == "passenger"
    assert trip_facts([]) == TripFacts()


@pytest.mark.parametrize(
    ("resolution", "trip", "expected"),
    [
        ("driver arrived", TripFacts(), "arrived"),
        ("a new driver arrived", TripFacts(), "arrived"),
        ("order ended (cancelled by passenger)", TripFacts(), "passenger_cancelled"),
        ("order ended (cancelled by system)", TripFacts(), "system_cancelled"),
        ("trip ended (completed)", TripFacts(), "completed"),
        ("trip completed", TripFacts(), "completed"),
        ("the car is back on the planned route", TripFacts(), "cleared"),
        ("extra capture refunded", TripFacts(), "cleared"),
        ("alice@ops: talked to the passenger, all fine", TripFacts(), "person"),
        # the order as it stands now wins over what the detector saw first
        ("driver arrived", TripFacts(known=True, cancelled_by="passenger"), "passenger_cancelled"),
        # a person's word wins over the trip; the condition that cleared wins over a cancellation
        ("bob: refunded by hand", TripFacts(known=True, cancelled_by="passenger"), "person"),
        ("payment captured", TripFacts(known=True, cancelled_by="passenger"), "cleared"),
        (None, TripFacts(known=True, completed=True), "completed"),
        ("expired", TripFacts(), "closed"),
        (None, TripFacts(), "closed"),
    ],
)
def test_how_an_incident_ended(resolution: str | None, trip: TripFacts, expected: str) -> None:
    assert ending(resolution, trip) == expected


async def test_facts_are_read_from_the_trip_log(redis) -> None:
    log = TripLog(redis, max_events=100, track_interval_ms=1000)
    await log.record(models.DriverAssigned(
        event_id="a1", order_id="o9", ts=T0, driver=models.Driver(**JONAS), eta_pickup_ts=T0 + 60_000,
    ))  # fmt: skip
    await log.record(models.OrderCancelled(event_id="c1", order_id="o9", ts=T0 + 1, cancelled_by="passenger"))
    facts = await read_trip_facts(redis, "o9")
    expected = {**JONAS, "car": None, "phone": None, "push_token": None, "locale": None}
    assert facts.driver == expected and facts.cancelled_by == "passenger"
    assert not (await read_trip_facts(redis, "unknown")).known


def cancellation(order: str, revision: int, driver: dict[str, str], status: str = "open", **extra: Any):
    return IncidentView(
        incident_id=f"{order}:driver_cancellation", kind="driver_cancellation", severity="high",
        status=status, order_id=order, passenger_id=f"p-{order}", summary="driver cancelled",
        details={"cancellations": revision, "driver": driver}, revision=revision, **extra,
    )  # fmt: skip


async def record(redis, order: str, *events: models.AnyTripEvent) -> None:
    log = TripLog(redis, max_events=100, track_interval_ms=1000)
    for one in events:
        await log.record(one)


def assigned_event(order: str, driver: dict[str, str], ts: int) -> models.DriverAssigned:
    return models.DriverAssigned(
        event_id=f"a-{ts}",
        order_id=order,
        ts=ts,
        driver=models.Driver(**driver),
        eta_pickup_ts=ts + 9 * 60_000,
    )


def cancelled_event(order: str, by: str, ts: int) -> models.OrderCancelled:
    return models.OrderCancelled(event_id=f"c-{by}-{ts}", order_id=order, ts=ts, cancelled_by=by)  # type: ignore[arg-type]


async def test_the_driver_who_just_cancelled_is_not_announced(
    outreach_settings, redis, http, clock, providers
) -> None:
    """Measured on main: the second cancellation's update named the driver who had just cancelled."""
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-x1", name="Anna", locale="en", phone="+15550000301"))
    now = clock.now
    await record(redis, "x1", assigned_event("x1", MAX, now - 300_000), cancelled_event("x1", "driver", now))
    await outreach.on_incident(cancellation("x1", 1, MAX))
    clock.advance(31)
    await outreach.tick()
    await record(
        redis,
        "x1",
        assigned_event("x1", JONAS, clock.now),
        cancelled_event("x1", "driver", clock.now + 60_000),
    )
    clock.advance(61)
    await outreach.on_incident(cancellation("x1", 2, JONAS))  # the incident still names Jonas
    await drain(dispatcher, clock)
    update = providers.sms[-1]["body"]
    assert len(providers.sms) == 2 and "Jonas" not in update and "still looking for a car" in update


async def test_a_passenger_who_cancelled_is_not_thanked_for_waiting(
    outreach_settings, redis, http, clock, providers
) -> None:
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    person = Passenger(
        passenger_id="p-x2", name="Anna", locale="en", phone="+15550000302", push_token="tok-x2"
    )
    await add_passenger(redis, person)
    await record(redis, "x2", assigned_event("x2", JONAS, clock.now))
    late = IncidentView(
        incident_id="x2:pickup_delay", kind="pickup_delay", severity="medium", status="open",
        order_id="x2", passenger_id="p-x2", details={"driver": JONAS}, revision=1,
    )  # fmt: skip
    await outreach.on_incident(late)
    clock.advance(31)
    await outreach.tick()
    await record(redis, "x2", cancelled_event("x2", "passenger", clock.now))
    resolution = "order ended (cancelled by passenger)"
    await outreach.on_incident(
        IncidentView(**{**_fields(late), "status": "resolved", "revision": 2, "resolution": resolution})
    )
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    closing = providers.push[-1]["notification"]
    assert len(providers.push) == 2 and closing["body"].startswith(
        "Anna, your order is cancelled, as you asked"
    )
    assert "patience" not in closing["body"] and "delay is over" not in closing["body"]
    assert closing["title"] == "Update on your pickup"


def _fields(incident: IncidentView) -> dict[str, Any]:
    return {name: getattr(incident, name) for name in incident.__struct_fields__}
