"""What the board reads of outreach: last message, messages of an order, the case, shift counts."""

from __future__ import annotations

from core.models import Passenger
from notifiers import reads
from tests.notifiers.conftest import add_passenger
from tests.notifiers.test_outreach import drain, incident, parts


async def test_board_reads(outreach_settings, redis, http, clock, providers) -> None:
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-w1", name="Anna", locale="en", phone="+15550000501"))
    await add_passenger(redis, Passenger(passenger_id="p-w2", name="Anna", locale="en", phone="bad-number"))
    start = clock()
    await outreach.on_incident(incident("w1", 1))
    await outreach.on_incident(incident("w2", 1))
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    last = await reads.last_message(redis, "w1:pickup_delay")
    assert last is not None and (last["channel"], last["status"], last["step"]) == ("sms", "sent", "open")
    assert "running late" in last["body"]
    failed = await reads.messages_for_order(redis, "w2")
    assert [(m["status"], m["step"]) for m in failed] == [("dead", "open")] and "21211" in failed[0]["error"]
    case = await reads.case_for_order(redis, "w1")
    assert case is not None and case["state"] == "open"
    assert [e["what"] for e in case["timeline"]] == ["incident", "message", "delivery"]
    counts = await reads.shift_counts(redis, start)
    assert counts == {"sent": 1, "failed": 1, "unknown": 0, "contacted_first": ["w1:pickup_delay"]}
    assert await reads.case_for_order(redis, "nothing-here") is None
