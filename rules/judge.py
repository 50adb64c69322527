"""A rule's say on a detector's decision: its condition, its exceptions, its escalations.

Called once per "open" incident change (see `TripProcessor._add`), never per ping. A
condition that fails at run time (the load-time type check makes this rare) is logged,
taken as false, and counted: in the rule set's `failures` (shown by `tripwatch rules
status`, failing `tripwatch rules test`) and through `on_failure` (the worker's metric).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import msgspec

from rules.conditions import holds
from rules.context import PassengerCache, build_context
from rules.loader import RuleSet

SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
Change = TypeVar("Change", bound=msgspec.Struct)


def judge(
    rules: RuleSet,
    state: Any,
    change: Change,
    passengers: PassengerCache | None = None,
    on_failure: Callable[[str], None] | None = None,
) -> Change | None:
    """The change as the rule wants it (severity raised, rule version stamped), or None: not for this rule."""
    rule = rules.by_id(getattr(change, "rule_id", ""))
    if rule is None or getattr(change, "action", "open") != "open":
        return change
    updates: dict[str, Any] = {}
    if change.rule_version != rule.version:  # type: ignore[attr-defined]
        updates["rule_version"] = rule.version
    if rule.when or rule.exceptions or rule.escalations:
        passenger = passengers.get(state.passenger_id) if passengers is not None else None
        context = build_context(state, change, passenger, dict(rules.timezones), rules.env.zones)
        memo: dict[str, Any] = {}  # macros, evaluated once per judgment
        failed = partial(rules.condition_failed, rule.id, on_failure)
        if rule.when is not None and not holds(rule.when, rules.env, context, memo, failed):
            return None
        if any(holds(condition, rules.env, context, memo, failed) for _, condition in rule.exceptions):
            return None
        severity = _escalated(rule.escalations, rules, context, change.severity, memo, failed)  # type: ignore[attr-defined]
        if severity != change.severity:  # type: ignore[attr-defined]
            updates["severity"] = severity
    return msgspec.structs.replace(change, **updates) if updates else change


def _escalated(
    escalations: Any,
    rules: RuleSet,
    context: dict[str, Any],
    severity: str,
    memo: dict[str, Any],
    failed: Callable[[], None],
) -> str:
    for candidate, condition in escalations:
        if SEVERITY_RANK[candidate] > SEVERITY_RANK[severity] and holds(
            condition, rules.env, context, memo, failed
        ):
            severity = candidate
    return severity
