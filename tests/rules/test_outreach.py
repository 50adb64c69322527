"""What outreach takes from the rules: actions as a policy, silences as a check, the set followed."""

from __future__ import annotations

from notifiers.model import IncidentView
from notifiers.policy import Policy
from rules import reload
from rules.loader import load_rules
from rules.outreach import RuleSetFollower, policy_from_rules, silence_check
from rules.silences import new_silence, save

RULES = """
rules:
  - id: quiet
    kind: pickup_delay
    actions: {open_case: true}
  - id: loud
    kind: trip_delay
    actions:
      notify: {template: pickup_delay, channels: [sms]}
  - id: plain
    kind: sos
"""


def view(rule_id: str, kind: str, city: str = "berlin") -> IncidentView:
    return IncidentView(incident_id=f"o:{kind}", kind=kind, severity="medium", status="open", order_id="o",
                        rule_id=rule_id, city=city)  # fmt: skip


def fallback(incident: IncidentView) -> Policy:
    return Policy(template=incident.kind, open_case=False, survey=True)


def test_a_rules_actions_become_the_outreach_policy():
    rule_set = load_rules({"r.yaml": RULES})
    policy = policy_from_rules(lambda: rule_set, fallback)
    assert policy(view("quiet", "pickup_delay")) == Policy("pickup_delay", True, True, False)
    assert policy(view("loud", "trip_delay")) == Policy("pickup_delay", False, True, True)
    assert policy(view("plain", "sos")) == fallback(view("plain", "sos"))  # no actions: as before
    assert policy(view("gone", "sos")) == fallback(view("gone", "sos"))


async def test_the_follower_runs_the_published_set_and_silences_are_checked(private_redis):
    follower = RuleSetFollower(private_redis)
    assert await follower.refresh() is False and follower.current().rules == ()  # nothing published
    rule_set = load_rules({"r.yaml": RULES})
    await reload.publish_rule_set(private_redis, rule_set)
    assert await follower.refresh() is True and follower.current().version == rule_set.version
    assert await reload.worker_versions(private_redis) == {}  # a follower is no worker

    check = silence_check(private_redis)
    assert await check(view("loud", "trip_delay"), 1_000) is False
    await save(private_redis, new_silence(kind="trip_delay", until_ms=2_000, now_ms=500))
    assert await check(view("loud", "trip_delay"), 1_000) is True
    assert await check(view("loud", "trip_delay"), 2_000) is False
