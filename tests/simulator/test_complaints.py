"""Simulated complaints: contract-valid contacts after each kind's delay, most of them skipped
when the passenger was told first; nothing without --complaints."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson

from core import names
from monitor.decoding import DecodeLimits, decode_event
from tools.scenario import load_scenario
from tools.simulator.complaints import NOTICING
from tools.simulator.config import SimConfig, parse_rates
from tools.simulator.scenario_file import generate, write_scenario

LIMITS = DecodeLimits(max_bytes=65536, max_age_ms=10**13, max_future_ms=10**13)
CONFIG = SimConfig(trips=240, seed=3).with_rates(parse_rates("incidents=0.07"), replace_all=True)


def test_no_contacts_unless_asked() -> None:
    assert not [d for d in generate(CONFIG).deliveries if d.topic == names.SUPPORT_CONTACTS]


def test_contacts_follow_their_incident_and_keep_the_contract(tmp_path: Path) -> None:
    scenario = generate(replace(CONFIG, complaints=True))
    contacts = [d for d in scenario.deliveries if d.topic == names.SUPPORT_CONTACTS]
    # the label a passenger notices (a long stop's trip is labelled stop_checkin too: no one calls about that)
    labels = {label["order_id"]: label for label in scenario.labels if label["kind"] in NOTICING}
    assert len(contacts) > 40
    for delivery in contacts:
        event = delivery.event
        order_id = event["event_id"].split("-contact-")[0]
        label = labels[order_id]
        noticing = NOTICING[label["kind"]]
        low = noticing.notice_s[0] + noticing.patience_s[0]
        high = noticing.notice_s[1] + noticing.patience_s[1]
        assert low <= delivery.at - label["onset"] <= high
        assert event["topic"] == noticing.topic and event.get("order_id") in (None, order_id)
        assert delivery.unless_told in (None, order_id)
        raw = orjson.dumps({**event, "ts": 1_800_000_000_000})
        decode_event(
            names.SUPPORT_CONTACTS, raw, LIMITS, now_ms=1_800_000_000_000, key=event["passenger_id"].encode()
        )
    skipped_if_told = sum(d.unless_told is not None for d in contacts)
    assert 0.6 * len(contacts) < skipped_if_told < len(contacts)  # told first: most would not call
    assert "signal_lost" not in {labels[d.event["event_id"].split("-contact-")[0]]["kind"] for d in contacts}

    path = tmp_path / "complaints.jsonl"
    write_scenario(scenario, path)
    loaded = [e for e in load_scenario(path).events if e.topic == names.SUPPORT_CONTACTS]
    assert [e.unless_told for e in loaded] == [d.unless_told for d in contacts]
    assert all(e.key == e.event["passenger_id"] for e in loaded)
    again = tmp_path / "again.jsonl"
    write_scenario(generate(replace(CONFIG, complaints=True)), again)
    assert again.read_bytes() == path.read_bytes()  # same seed, same file
