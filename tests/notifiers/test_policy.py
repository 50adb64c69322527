"""Rules' actions decide template, channels and case; silences and budgets hold whatever rules say."""

from __future__ import annotations

from monitor.models import Passenger
from notifiers.cases import CaseStore
from notifiers.engine import Outreach
from notifiers.policy import default_policy_for, rule_policy_for
from notifiers.render import Templates
from rules.loader import load_rules
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
