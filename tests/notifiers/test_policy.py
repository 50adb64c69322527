"""Rules' actions decide template, channels and case; silences and budgets hold whatever rules say."""

from __future__ import annotations

import pytest

from core.models import Passenger
from notifiers.cases import CaseStore
from notifiers.engine import Outreach
from notifiers.policy import default_policy_for, rule_policy_for
from notifiers.render import Templates
from rules.loader import RuleError, load_rules
from tests.notifiers.conftest import add_passenger
from tests.notifiers.test_outreach import drain, incident, parts

RULES = """
rules:
  - id: quiet-delay
    kind: pickup_delay
    actions: {open_case: true}
  - id: sms-only
    kind: trip_delay
    actions:
      notify: {template: generic, channels: [sms]}
  - id: defaults
    kind: long_stop
"""


def test_rule_actions_are_followed_and_a_rule_without_actions_gets_defaults() -> None:
    rule_set = load_rules({"r.yaml": RULES})
    policy = rule_policy_for(lambda: rule_set, default_policy_for(Templates()))
    quiet = policy(incident("o", 1, rule_id="quiet-delay"))
    assert not quiet.notify_passenger and quiet.open_case
    sms_only = policy(incident("o", 1, rule_id="sms-only", kind="trip_delay"))
    assert sms_only.template == "generic" and sms_only.channels == ("sms",) and not sms_only.open_case
    default = policy(incident("o", 1, rule_id="defaults", kind="long_stop"))
    assert default.template == "long_stop" and default.notify_passenger and default.channels is None
    unknown = policy(incident("o", 1, rule_id="gone", kind="no_template_kind"))
    assert unknown.template == "generic"


async def test_rule_channels_and_silence_hold_outreach(
    outreach_settings, redis, http, clock, providers
) -> None:
    rule_set = load_rules({"r.yaml": RULES})
    templates = Templates()
    silenced_kinds = {"pickup_delay"}
    outreach = Outreach(
        outreach_settings,
        redis,
        templates,
        clock,
        policy=rule_policy_for(lambda: rule_set, default_policy_for(templates)),
        is_silenced=lambda inc, now: inc.kind in silenced_kinds,
    )
    _, dispatcher = parts(outreach_settings, redis, http, clock)
    both = {"phone": "+15550000401", "push_token": "tok-401"}
    await add_passenger(redis, Passenger(passenger_id="p-r1", name="Anna", locale="en", **both))
    await add_passenger(redis, Passenger(passenger_id="p-r2", name="Anna", locale="en", **both))
    await outreach.on_incident(incident("r1", 1, rule_id="sms-only", kind="trip_delay", incident_id="r1:td"))
    await outreach.on_incident(incident("r2", 1, rule_id="defaults"))  # pickup_delay: silenced
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    assert providers.push == [] and [m["to"] for m in providers.sms] == ["+15550000401"]
    assert "we noticed a problem with your trip" in providers.sms[0]["body"]
    case = await CaseStore(redis).get("r2:pickup_delay")
    assert case is not None and case.state == "open"  # silenced: still recorded


REFUND_RULES = """
rules:
  - id: refunds
    kind: double_charge
    actions:
      notify: {refund: true}
  - id: reviews
    kind: double_charge
    actions:
      notify: {channels: [push]}
"""


def test_a_refund_is_promised_only_when_the_rule_requests_one() -> None:
    rule_set = load_rules({"r.yaml": REFUND_RULES})
    policy = rule_policy_for(lambda: rule_set, default_policy_for(Templates()))
    assert policy(incident("o", 1, rule_id="refunds", kind="double_charge")).refund
    assert not policy(incident("o", 1, rule_id="reviews", kind="double_charge")).refund
    assert not policy(incident("o", 1, rule_id="unknown", kind="double_charge")).refund  # the default


def test_the_refund_flag_is_validated_at_its_line() -> None:
    bad = REFUND_RULES.replace("{refund: true}", "{refund: maybe}")
    with pytest.raises(RuleError) as caught:
        load_rules({"r.yaml": bad})
    assert (
        "r.yaml:6:24: rules.0.actions.notify.refund: wrong type: expected true or false, got 'maybe'"
        in str(caught.value)
    )


async def test_the_double_charge_message_follows_the_rule(
    outreach_settings, redis, http, clock, providers
) -> None:
    rule_set = load_rules({"r.yaml": REFUND_RULES})
    templates = Templates()
    policy = rule_policy_for(lambda: rule_set, default_policy_for(templates))
    outreach = Outreach(outreach_settings, redis, templates, clock, policy=policy)
    _, dispatcher = parts(outreach_settings, redis, http, clock)
    for order in ("d1", "d2"):
        await add_passenger(
            redis, Passenger(passenger_id=f"p-{order}", name="Anna", locale="en", push_token=order)
        )
    details = {"amount_minor": 1250, "currency": "EUR"}
    for order, rule in (("d1", "refunds"), ("d2", "reviews")):
        await outreach.on_incident(
            incident(order, 1, rule_id=rule, kind="double_charge", incident_id=f"{order}:dc", details=details)
        )
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    bodies = {m["token"]: m["notification"]["body"] for m in providers.push}
    assert "We are refunding the extra charge" in bodies["d1"] and "(12.50 EUR)" in bodies["d1"]
    assert "refund" not in bodies["d2"] and "support team will review the charge" in bodies["d2"]


async def test_a_rule_without_group_wait_is_told_at_once_and_others_wait(
    outreach_settings, redis, http, clock, providers
) -> None:
    from pathlib import Path

    from rules.loader import load_rule_dir

    pack = load_rule_dir(Path(__file__).resolve().parents[2] / "rules" / "pack")
    templates = Templates()
    outreach = Outreach(
        outreach_settings,
        redis,
        templates,
        clock,
        policy=rule_policy_for(lambda: pack, default_policy_for(templates)),
    )
    _, dispatcher = parts(outreach_settings, redis, http, clock)
    await add_passenger(redis, Passenger(passenger_id="p-g1", name="Anna", locale="en", phone="+15550000501"))
    await add_passenger(redis, Passenger(passenger_id="p-g2", name="Anna", locale="en", phone="+15550000502"))
    await outreach.on_incident(incident("g1", 1, rule_id="pickup-delay"))  # the pack's rule: group_wait 0s
    await outreach.on_incident(
        incident("g2", 1, rule_id="trip-delay", kind="trip_delay", incident_id="g2:td")
    )
    await drain(dispatcher, clock)
    assert [m["to"] for m in providers.sms] == ["+15550000501"]  # trip_delay waits out the group wait
    clock.advance(31)
    await outreach.tick()
    await drain(dispatcher, clock)
    assert [m["to"] for m in providers.sms] == ["+15550000501", "+15550000502"]
