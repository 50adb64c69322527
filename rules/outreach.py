"""What outreach (notifiers/) takes from the rules: the rule's actions, and the silences.

- `RuleSetFollower`: the published rule set, followed in any process (no worker entry).
- `policy_from_rules(follower.rule_set, fallback)`: a `notifiers.policy.PolicyFn` that reads the
  incident's rule: `actions.notify.template` (default: the kind), `notify.refund` and `actions.open_case`. A
  rule with `actions` but no `notify` sends nothing to the passenger; a rule without
  `actions` at all (or an unknown rule) keeps the fallback policy.
- `silence_check(redis)`: the `is_silenced(incident, now_ms)` the outreach engine takes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from rules.loader import RuleSet
from rules.reload import RuleReloader
from rules.silences import silence_for

EMPTY = RuleSet((), "none")


class RuleSetFollower:
    """Keeps the published rule set at hand: call `refresh()` every second or so."""

    def __init__(self, redis: aioredis.Redis, name: str = "outreach") -> None:
        self.rule_set = EMPTY
        self._reloader = RuleReloader(redis, EMPTY, self._swap, worker=name, report=False)

    def _swap(self, rule_set: RuleSet) -> None:
        self.rule_set = rule_set

    async def refresh(self) -> bool:
        return await self._reloader.check()

    def current(self) -> RuleSet:
        return self.rule_set


def policy_from_rules(
    rule_set: Callable[[], RuleSet], fallback: Callable[[Any], Any]
) -> Callable[[Any], Any]:
    from notifiers.policy import Policy

    def policy(incident: Any) -> Any:
        loaded = rule_set().by_id(getattr(incident, "rule_id", ""))
        if loaded is None or "actions" not in loaded.rule.model_fields_set:
            return fallback(incident)
        actions, default = loaded.rule.actions, fallback(incident)
        notify = actions.notify
        return Policy(
            template=(notify.template if notify and notify.template else default.template),
            open_case=actions.open_case,
            survey=default.survey,
            notify_passenger=notify is not None,
            refund=notify.refund if notify else False,
        )

    return policy


def silence_check(redis: aioredis.Redis) -> Callable[[Any, int], Awaitable[bool]]:
    async def is_silenced(incident: Any, now_ms: int) -> bool:
        return await silence_for(redis, incident, now_ms) is not None

    return is_silenced
