"""Changing a rule without copying it: an `overrides:` entry appends to or replaces its parts by id.

As Falco's `override`: `append` joins `when` with `&&` (both must hold), extends
`exceptions`, `escalate` and `tags`, and merges `params` key by key; `replace` puts the
given fields in place of the rule's own. Replacements apply first, then additions.
"""

from __future__ import annotations

from typing import Any

from rules.model import Rule, RuleOverride


def effective(base: Rule, change: RuleOverride) -> Rule:
    """The rule as it runs once `change` is applied."""
    replaced = {name: getattr(change.replace, name) for name in change.replace.model_fields_set}
    rule = base.model_copy(update=replaced)
    added = change.append
    update: dict[str, Any] = {
        "exceptions": [*rule.exceptions, *added.exceptions],
        "escalate": [*rule.escalate, *added.escalate],
        "tags": [*rule.tags, *(t for t in added.tags if t not in rule.tags)],
        "params": {**rule.params, **added.params},
    }
    if added.when is not None:
        update["when"] = f"({rule.when}) && ({added.when})" if rule.when else added.when
    return rule.model_copy(update=update)


def overridden_parts(change: RuleOverride) -> list[tuple[tuple[Any, ...], str]]:
    """(path inside the override, condition text) of each condition the override brings."""
    parts: list[tuple[tuple[Any, ...], str]] = []
    for section in ("append", "replace"):
        given = getattr(change, section)
        if given.when is not None:
            parts.append(((section, "when"), given.when))
        for i, item in enumerate(given.exceptions or []):
            parts.append(((section, "exceptions", i, "when"), item.when))
        for i, item in enumerate(given.escalate or []):
            parts.append(((section, "escalate", i, "when"), item.when))
    return parts
