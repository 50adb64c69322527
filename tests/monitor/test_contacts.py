"""Matching a support contact to an incident, and the told-first figures (pure functions)."""

from __future__ import annotations

import dataclasses

import pytest

from core.models import SupportContact
from monitor.contact_figures import told_first_figures
from monitor.contact_store import ContactRecord
from monitor.contacts import LOOKBACK_MS, Candidate, match_contact, needs_safety_incident, reason
from monitor.decoding import BadEvent, DecodeLimits, decode_event
from monitor.support import safety_change

T = 1_800_000_000_000
LIMITS = DecodeLimits(max_bytes=65536, max_age_ms=10**13, max_future_ms=10**13)


def contact(event_id: str = "c1", ts: int = T, **extra: object) -> SupportContact:
    values: dict = {"event_id": event_id, "type": "support.contacted", "ts": ts, "passenger_id": "p1",
                    "channel": "call"} | extra  # fmt: skip
    return SupportContact(**values)


def incident(kind: str, order: str = "o1", opened: int = T - 600_000, first: int | None = None) -> Candidate:
    return Candidate(f"{order}:{kind}", kind, order, "open", opened, first, "push" if first else None)


def test_the_named_order_wins_over_a_nearer_incident_of_another_trip() -> None:
    candidates = [incident("pickup_delay", "o1", T - 3600_000), incident("pickup_delay", "o2", T - 60_000)]
    match = match_contact(contact(order_id="o1"), candidates)
    assert match is not None and (match.incident_id, match.by) == ("o1:pickup_delay", "order")


def test_without_an_order_the_topic_breaks_the_tie_then_time() -> None:
    candidates = [
        incident("payment_failure", opened=T - 60_000),
        incident("pickup_delay", opened=T - 900_000),
    ]
    assert match_contact(contact(topic="delay"), candidates).kind == "pickup_delay"
    assert match_contact(contact(), candidates).kind == "payment_failure"  # no topic: the nearest
    assert match_contact(contact(), candidates).by == "passenger"


def test_incidents_out_of_the_window_match_nothing() -> None:
    old = incident("pickup_delay", opened=T - LOOKBACK_MS - 1)
    late = incident("pickup_delay", opened=T + 3600_000)
    assert match_contact(contact(), [old, late]) is None
    assert match_contact(contact(order_id="o9"), [incident("pickup_delay")]) is None


def test_told_first_and_the_reason_for_people() -> None:
    told = match_contact(contact(topic="delay"), [incident("pickup_delay", first=T - 240_000)])
    assert told.told_first and told.lead_ms == 240_000
    assert told.reason == "passenger called about the delay 4m after our push"
    silent = match_contact(contact(channel="chat"), [incident("pickup_delay")])
    assert not silent.told_first and silent.lead_ms is None
    assert silent.reason == "passenger wrote in chat about the pickup delay before we had sent anything"
    late = match_contact(contact(), [incident("pickup_delay", first=T + 30_000)])
    assert not late.told_first and late.lead_ms == -30_000 and late.reason.endswith("30s before our push")


def test_a_safety_contact_raises_unless_a_safety_incident_is_open() -> None:
    about_safety = contact(topic="safety", order_id="o1")
    assert needs_safety_incident(about_safety, [incident("pickup_delay")])
    assert not needs_safety_incident(about_safety, [incident("sos")])
    resolved = dataclasses.replace(incident("sos"), status="resolved")
    assert needs_safety_incident(about_safety, [resolved])
    assert not needs_safety_incident(contact(topic="safety"), [])  # no order: nothing to raise it on
    assert not needs_safety_incident(contact(topic="delay", order_id="o1"), [])
    change = safety_change(about_safety)
    assert (change.kind, change.severity, change.details["contact_event_id"]) == (
        "passenger_reported_safety", "critical", "c1",
    )  # fmt: skip
    raised = dataclasses.replace(incident("passenger_reported_safety", opened=T + 50), raised_by="c1")
    match = match_contact(about_safety, [resolved, raised])
    assert match.raised and not match.told_first and "raised passenger_reported_safety" in match.reason
    assert "raised" in reason(about_safety, raised, raised=True)


def test_decoding_support_contacts() -> None:
    good = b'{"event_id":"c1","type":"support.contacted","ts":5,"passenger_id":"p1","channel":"app","x":1}'
    assert decode_event("support-contacts", good, LIMITS, now_ms=10, key=b"p1").channel == "app"
    with pytest.raises(BadEvent, match="passenger_id"):
        decode_event("support-contacts", good, LIMITS, now_ms=10, key=b"o1")
    with pytest.raises(BadEvent, match="channel"):
        decode_event("support-contacts", good.replace(b'"app"', b'"fax"'), LIMITS, now_ms=10)
    with pytest.raises(BadEvent, match="topic"):
        decode_event("support-contacts", good.replace(b'"x":1', b'"topic":"weather"'), LIMITS, now_ms=10)


def record(c: SupportContact, match_with: list[Candidate] | None) -> ContactRecord:
    match = match_contact(c, match_with) if match_with is not None else None
    return ContactRecord(contact=c, recorded_at=c.ts, match=dataclasses.asdict(match) if match else None)


def test_figures_per_kind_and_overall() -> None:
    told = incident("pickup_delay", "o1", first=T - 120_000)
    told2 = incident("pickup_delay", "o2", first=T - 300_000)
    untold = incident("pickup_delay", "o3")
    payment = incident("payment_failure", "o4", first=T - 60_000)
    records = [
        record(contact("a", order_id="o1"), [told]),
        record(contact("a2", ts=T + 60_000, order_id="o1"), [told]),  # a second call: one more contact
        record(contact("b", order_id="o2"), [told2]),
        record(contact("c", order_id="o3"), [untold]),
        record(contact("d", order_id="o4"), [payment]),
        record(contact("e", topic="other"), None),
        record(contact("f", topic="safety", ts=T - 5), None),
    ]
    figures = told_first_figures(records, {"pickup_delay": 10, "payment_failure": 2, "trip_delay": 4})
    pickup = figures["kinds"]["pickup_delay"]
    assert pickup["incidents_contacted"] == 3 and pickup["told_first"] == 2
    assert pickup["told_first_share"] == round(2 / 3, 3)
    assert (pickup["lead_p50_s"], pickup["lead_p90_s"]) == (120.0, 300.0)
    assert pickup["contacts"] == 4 and pickup["contact_rate"] == 0.4
    assert figures["kinds"]["trip_delay"]["told_first_share"] is None
    overall = figures["overall"]
    assert (overall["incidents"], overall["contacts"], overall["told_first"]) == (16, 5, 3)
    assert overall["told_first_share"] == 0.75
    unmatched = figures["unmatched"]
    assert unmatched["total"] == 2 and unmatched["by_topic"] == {"other": 1, "safety": 1}
    assert [c["event_id"] for c in unmatched["latest"]] == ["e", "f"]  # newest first
