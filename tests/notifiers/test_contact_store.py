"""Support contacts against real Redis and real outreach: matched once, noted on the case,
told first only when our delivered message came before the contact."""

from __future__ import annotations

import msgspec

from core import names
from core.incident_store import IncidentStore
from core.incidents import IncidentChange
from core.models import Passenger, SupportContact
from monitor.contact_store import ContactStore
from monitor.support import SupportContacts
from notifiers.cases import CaseStore
from notifiers.model import decode_incident
from tests.notifiers.conftest import add_passenger
from tests.notifiers.test_outreach import drain, parts


def contact(event_id: str, ts: int, **extra: object) -> SupportContact:
    values: dict = {"event_id": event_id, "type": "support.contacted", "ts": ts, "passenger_id": "p-c1",
                    "channel": "call"} | extra  # fmt: skip
    return SupportContact(**values)


async def open_incident(redis, clock, order_id: str, kind: str = "pickup_delay"):
    change = IncidentChange(action="open", kind=kind, order_id=order_id, passenger_id="p-c1",
                            rule_id="pickup-delay", trigger_ts=clock(), summary="driver late")  # fmt: skip
    incident = await IncidentStore(redis).apply(change, clock())
    return decode_incident(msgspec.json.encode(incident))


async def test_a_contact_after_our_push_is_told_first_once(outreach_settings, redis, http, clock, providers):
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-c1", name="Anna", locale="en", push_token="tok-c1"))
    await outreach.on_incident(await open_incident(redis, clock, "c1"))
    clock.advance(31)  # past group_wait
    await outreach.tick()
    await drain(dispatcher, clock)
    pushed_at = int(await redis.zscore(names.OUTBOX_SENT, "c1:pickup_delay:1:open"))
    clock.advance(240)
    store = ContactStore(redis)
    called = contact("k1", clock(), topic="delay")  # no order: matched through the passenger
    for _ in range(3):  # redelivered: recorded once
        match = await store.record(called, clock())
        assert match is not None and match.incident_id == "c1:pickup_delay" and match.told_first
    assert match.lead_ms == clock() - pushed_at and match.by == "passenger"
    case = await CaseStore(redis).get("c1:pickup_delay")
    assert case.support_contacts == 1 and case.told_first and case.first_contact_at == clock()
    assert case.contact_lead_s == round((clock() - pushed_at) / 1000, 1)
    notes = [e for e in await CaseStore(redis).timeline(case.case_id) if e.what == "contact"]
    assert [n.text for n in notes] == ["passenger called about the delay 4m after our push"]
    assert await redis.zcard(names.INCIDENT_CONTACTS + "c1:pickup_delay") == 1


async def test_a_contact_before_detection_matches_when_the_incident_opens(redis, clock):
    store = ContactStore(redis)
    early = contact("k2", clock(), order_id="c2", topic="delay")
    assert await store.record(early, clock()) is None
    assert await redis.zrange(names.CONTACTS_UNMATCHED, 0, -1) == [b"k2"]
    clock.advance(60)
    await open_incident(redis, clock, "c2")
    assert await store.retry_unmatched(clock()) == 1
    match = await store.recorded_match("k2")
    assert match is not None and not match.told_first and match.lead_ms is None
    assert await redis.zcard(names.CONTACTS_UNMATCHED) == 0
    assert await store.retry_unmatched(clock()) == 0


async def test_a_safety_contact_raises_an_incident_once(redis, clock):
    raised = []

    async def raise_incident(change: IncidentChange) -> None:
        raised.append(change)
        await IncidentStore(redis).apply(change, clock())

    support = SupportContacts(ContactStore(redis), raise_incident)
    scared = contact("k3", clock(), order_id="c3", topic="safety", channel="app")
    for _ in range(2):
        match = await support.on_contact(scared, clock())
        assert match is not None and match.raised and match.kind == "passenger_reported_safety"
    assert len(raised) == 1
    stored = msgspec.json.decode(await redis.get(names.incident_key("c3:passenger_reported_safety")))
    assert stored["severity"] == "critical" and stored["status"] == "open"
    await open_incident(redis, clock, "c4", kind="sos")  # an open safety incident: nothing raised
    assert (
        await support.on_contact(contact("k4", clock(), order_id="c4", topic="safety"), clock())
    ).kind == "sos"
    assert len(raised) == 1


async def test_a_check_in_on_the_stop_is_our_first_word_about_the_long_stop_that_follows(
    outreach_settings, redis, http, clock, providers
):
    outreach, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-c1", name="Anna", locale="en", push_token="tok-c1"))
    checkin = IncidentChange(action="open", kind="stop_checkin", order_id="c4", passenger_id="p-c1",
                             rule_id="stop-checkin", trigger_ts=clock(), summary="car stopped")  # fmt: skip
    await outreach.on_incident(
        decode_incident(msgspec.json.encode(await IncidentStore(redis).apply(checkin, clock())))
    )
    await outreach.tick()
    await drain(dispatcher, clock)
    asked_at = int(await redis.zscore(names.OUTBOX_SENT, "c4:stop_checkin:1:open"))
    clock.advance(90)  # the long stop opens; the passenger calls before its own message went out
    long_stop = IncidentChange(action="open", kind="long_stop", order_id="c4", passenger_id="p-c1",
                               rule_id="long-stop", trigger_ts=clock(), summary="car stationary",
                               details={"follows": ["c4:stop_checkin"]})  # fmt: skip
    await IncidentStore(redis).apply(long_stop, clock())
    clock.advance(5)
    match = await ContactStore(redis).record(contact("k5", clock(), order_id="c4", topic="route"), clock())
    assert match is not None and match.incident_id == "c4:long_stop"
    assert match.told_first and match.lead_ms == clock() - asked_at
    assert match.reason == "passenger called about the route 1m35s after our push"
