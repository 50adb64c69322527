"""`evaluate` on a scenario with support contacts, through the session's broker, Redis, worker
(test rules: pickup delay after a 2 s grace) and real outreach with no group wait: a passenger
told first skips the contact marked `unless_told`; the figures say who was told first."""

from __future__ import annotations

import pytest

from core import names
from tools.evaluate import RunOptions, evaluate, format_report
from tools.scenario import ExpectedIncident, Scenario, ScheduledEvent

pytestmark = pytest.mark.usefixtures("worker", "running_outreach")


def passenger(pid: str) -> ScheduledEvent:
    record = {"passenger_id": pid, "name": "Anna", "locale": "en", "push_token": f"tok-{pid}"}
    return ScheduledEvent(0.0, names.PASSENGERS, record, 1)


def order(order_id: str, pid: str, at: float, promised: float) -> ScheduledEvent:
    event = {"event_id": f"{order_id}-created", "type": "order.created", "order_id": order_id,
             "passenger_id": pid, "pickup": {"lat": 52.52, "lon": 13.41}, "dropoff": {"lat": 52.5, "lon": 13.33},
             "promised_pickup_ts": promised}  # fmt: skip
    return ScheduledEvent(at, names.TRIP_EVENTS, event, 2)


def contact(
    event_id: str, pid: str, at: float, order_id: str | None, unless_told: str | None = None, **extra
):
    event = {
        "event_id": event_id,
        "type": "support.contacted",
        "passenger_id": pid,
        "channel": "chat",
        **extra,
    }
    if order_id:
        event["order_id"] = order_id
    return ScheduledEvent(at, names.SUPPORT_CONTACTS, event, 3, unless_told)


@pytest.mark.timeout(120)
async def test_told_first_per_kind(settings) -> None:
    events = [
        passenger("pa"), passenger("pb"), passenger("pc"),
        order("a", "pa", 0.5, promised=1.0),  # late at 3 s: our push goes out at once
        order("b", "pb", 0.5, promised=9.0),  # late at 11 s
        contact("a1", "pa", 9.0, "a", unless_told="a", topic="delay"),  # told by then: never made
        contact("a2", "pa", 10.0, "a", topic="delay"),  # told, and calls all the same
        contact("b1", "pb", 5.0, None, unless_told="b", topic="delay"),  # before we knew: matched later
        contact("c1", "pc", 6.0, None, topic="other"),  # no incident at all
    ]  # fmt: skip
    expected = [ExpectedIncident("pickup_delay", "a", 1.0), ExpectedIncident("pickup_delay", "b", 9.0)]
    scenario = Scenario("told-first", "", sorted(events, key=lambda e: e.at_s), expected)

    report, figures = await evaluate(settings, scenario, RunOptions(settle_s=8.0, start_worker=False))

    assert figures["events"] == len(events) - 1  # a1 left out
    told = report.told_first
    assert told is not None and "pickup_delay" in told.messaged_kinds
    pickup = told.figures["kinds"]["pickup_delay"]
    assert (pickup["incidents"], pickup["incidents_contacted"], pickup["told_first"]) == (2, 2, 1)
    assert pickup["contacts"] == 2 and 3 <= pickup["lead_p50_s"] <= 9
    assert told.failing() == ["pickup_delay"]  # 50 % < 95 %
    assert told.figures["unmatched"]["by_topic"] == {"other": 1}
    text = format_report(report)
    assert "told first" in text and "50.0%" in text and "FAIL" in text
