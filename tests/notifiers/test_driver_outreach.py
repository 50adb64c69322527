"""Driver outreach (notifiers/drivers.py): a safety check-in for the driver on SOS, suspected
crash and long stop, and a word to a driver whose passenger did not show; end to end through
the engine, the outbox and the fake FCM, with the driver's push token from `driver.assigned`."""

from __future__ import annotations

import orjson

from core import models, names
from core.models import Passenger
from core.trip_log import TripLog
from monitor.decoding import DAY_MS, DecodeLimits, decode_event
from notifiers.cases import CaseStore
from notifiers.model import IncidentView
from notifiers.trip_facts import read_trip_facts
from tests.notifiers.conftest import add_passenger
from tests.notifiers.test_outreach import drain, parts

T0 = 1_800_000_000_000
IVAN = {
    "id": "d7",
    "name": "Иван Петров",
    "plate": "А123ВС77",
    "push_token": "tok-driver-ivan",
    "locale": "ru",
}
LIMITS = DecodeLimits(max_bytes=4096, max_age_ms=30 * DAY_MS, max_future_ms=3_600_000)


def assigned(order: str, driver: dict[str, str], ts: int = T0) -> models.DriverAssigned:
    """Through the real decoder, as the worker reads it: the optional fields are kept."""
    raw = orjson.dumps({
        "event_id": f"a-{order}-{ts}", "type": "driver.assigned", "order_id": order, "ts": ts,
        "driver": driver, "eta_pickup_ts": ts + 300_000,
    })  # fmt: skip
    return decode_event("trip-events", raw, LIMITS, now_ms=ts)


async def record(redis, *events: models.AnyTripEvent) -> None:
    log = TripLog(redis, max_events=100, track_interval_ms=1000)
    for one in events:
        await log.record(one)


def incident(order: str, kind: str, severity: str, revision: int = 1, status: str = "open") -> IncidentView:
    return IncidentView(
        incident_id=f"{order}:{kind}", kind=kind, severity=severity, status=status, order_id=order,
        passenger_id=f"p-{order}", summary=kind, revision=revision,
    )  # fmt: skip


async def test_the_driver_gets_a_safety_check_in_on_sos_once(
    outreach_settings, redis, http, clock, providers
) -> None:
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(
        redis, Passenger(passenger_id="p-ds1", name="Anna", locale="en", push_token="tok-pass")
    )
    await record(redis, assigned("ds1", IVAN))
    await outreach.on_incident(incident("ds1", "sos", "critical"))
    await outreach.on_incident(incident("ds1", "sos", "critical", revision=2))  # news on the same SOS
    await drain(dispatcher, clock)
    by_token = {m["token"]: m for m in providers.push}
    assert set(by_token) == {"tok-pass", "tok-driver-ivan"}
    driver_push = by_token["tok-driver-ivan"]
    assert driver_push["notification"]["title"] == "Вы в безопасности?"
    assert driver_push["notification"]["body"].startswith("Иван, по поездке А123ВС77 сигнал тревоги")
    assert driver_push["data"]["audience"] == "driver" and driver_push["data"]["step"] == "driver-checkin"
    assert driver_push["android"]["priority"] == "high" and driver_push["android"]["ttl"] == "300s"
    assert "checkin_choices" not in driver_push["data"]
    tags = {m["android"]["notification"]["tag"] for m in providers.push}
    assert len(tags) == 2  # the driver's alert and the passenger's are their own notifications
    assert len(providers.push) == 2  # one each, although the incident changed twice
    timeline = [e.text for e in await CaseStore(redis).timeline("ds1:sos")]
    assert any(t.startswith("driver-checkin queued for the driver by push") for t in timeline)
    assert any(t.startswith("driver-checkin message sent by push") for t in timeline)


async def test_crash_and_long_stop_check_in_the_driver_but_a_route_deviation_does_not(
    outreach_settings, redis, http, clock, providers
) -> None:
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    for order, kind, severity in (("dc1", "crash_suspected", "critical"), ("dc2", "long_stop", "high"),
                                  ("dc3", "route_deviation", "medium")):  # fmt: skip
        driver = {**IVAN, "id": f"d-{order}", "push_token": f"tok-{order}", "locale": "en"}
        await record(redis, assigned(order, driver))
        await outreach.on_incident(incident(order, kind, severity))
    await drain(dispatcher, clock)
    told = {m["token"]: m["notification"]["title"] for m in providers.push}
    assert told == {"tok-dc1": "Are you safe?", "tok-dc2": "Are you safe?"}


async def test_a_driver_without_a_push_token_is_noted_not_messaged(
    outreach_settings, redis, http, clock, providers
) -> None:
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await record(redis, assigned("dn1", {"id": "d9", "name": "Max", "plate": "B-1"}))
    await outreach.on_incident(incident("dn1", "sos", "critical"))
    await drain(dispatcher, clock)
    assert providers.push == []
    timeline = [e.text for e in await CaseStore(redis).timeline("dn1:sos")]
    assert any("driver-checkin not sent: the driver has no push token" in t for t in timeline)


def cancelled(order: str, ts: int, reason: str | None) -> models.OrderCancelled:
    return models.OrderCancelled(
        event_id=f"c-{ts}", order_id=order, ts=ts, cancelled_by="driver", reason=reason
    )


async def test_a_no_show_is_a_driver_cancellation_for_no_show_after_arriving(redis) -> None:
    def arrived(order: str) -> models.DriverArrived:
        return models.DriverArrived(event_id=f"ar-{order}", order_id=order, ts=T0 + 1)

    await record(redis, assigned("x1", IVAN), arrived("x1"), cancelled("x1", T0 + 2, "no_show"))
    await record(redis, assigned("x2", IVAN), cancelled("x2", T0 + 2, "no_show"))
    await record(redis, assigned("x3", IVAN), arrived("x3"), cancelled("x3", T0 + 2, "car_broke_down"))
    no_show = await read_trip_facts(redis, "x1")
    assert no_show.no_show_driver is not None and no_show.no_show_driver["push_token"] == "tok-driver-ivan"
    assert (await read_trip_facts(redis, "x2")).no_show_driver is None  # never arrived: not a no-show
    assert (await read_trip_facts(redis, "x3")).no_show_driver is None


async def test_a_driver_whose_passenger_did_not_show_is_told_support_knows(
    outreach_settings, redis, http, clock, providers
) -> None:
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    driver = {**IVAN, "locale": "en"}
    arrived = models.DriverArrived(event_id="ar-ns", order_id="ns1", ts=T0 + 60_000)
    await record(redis, assigned("ns1", driver), arrived, cancelled("ns1", T0 + 400_000, "no_show"))
    await outreach.on_incident(incident("ns1", "driver_cancellation", "medium"))
    await outreach.on_incident(incident("ns1", "driver_cancellation", "medium", revision=2))
    await drain(dispatcher, clock)  # no group_wait for the driver: they are waiting for an answer now
    assert [(m["token"], m["notification"]["title"]) for m in providers.push] == [
        ("tok-driver-ivan", "No-show noted")
    ]
    push = providers.push[0]
    assert "Support knows your passenger did not come" in push["notification"]["body"]
    assert push["data"]["step"] == "driver-no-show" and push["android"]["priority"] == "normal"
    spent = await redis.get(f"{names.BUDGET_TRIP}driver:d7:ns1")
    assert spent == b"1"  # counted on the driver's own budget, once


async def test_the_no_show_notice_respects_the_drivers_budget(
    outreach_settings, redis, http, clock, providers
) -> None:
    settings = outreach_settings.replace(outreach_budget_per_day=0)
    outreach, dispatcher = parts(settings, redis, http, clock)
    arrived = models.DriverArrived(event_id="ar-nb", order_id="nb1", ts=T0 + 60_000)
    await record(redis, assigned("nb1", IVAN), arrived, cancelled("nb1", T0 + 400_000, "no_show"))
    await outreach.on_incident(incident("nb1", "driver_cancellation", "medium"))
    await drain(dispatcher, clock)
    assert providers.push == []
    timeline = [e.text for e in await CaseStore(redis).timeline("nb1:driver_cancellation")]
    assert any("driver-no-show not sent: the driver's message budget is spent" in t for t in timeline)
