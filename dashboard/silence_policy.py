"""What the board lets a person silence: matchers that name things that exist, a preview of what
a silence would hold now, and silences over safety kinds only for admins, confirmed and short.

The silence model itself is `rules.silences` (what outreach obeys); this module only decides
whether a silence made on the board may be stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.clock import span
from core.incidents import BUILTIN_KINDS, SAFETY_KINDS
from rules.loader import RuleSet
from rules.silences import ANY, Silence, SilenceError


@dataclass(frozen=True)
class Vocabulary:
    """The kinds, cities and rules a silence may name: the catalogue, the published rules and
    what the board has seen this shift."""

    kinds: frozenset[str]
    cities: frozenset[str]
    rules: Mapping[str, str]  # rule id -> its kind

    @classmethod
    def gather(cls, rule_set: RuleSet | None, rows: Iterable[Mapping[str, Any]]) -> Vocabulary:
        rows = list(rows)
        rules = {r.id: r.rule.kind for r in rule_set.rules} if rule_set else {}
        seen_rules = {str(r["rule_id"]): str(r["kind"]) for r in rows if r.get("rule_id")}
        kinds = {*BUILTIN_KINDS, *rules.values(), *(str(r["kind"]) for r in rows)}
        cities = {*(rule_set.timezones if rule_set else {}), *(str(r["city"]) for r in rows if r.get("city"))}
        return cls(frozenset(kinds), frozenset(cities), {**seen_rules, **rules})

    def check(self, silence: Silence) -> None:
        """Raise `SilenceError` for a kind, city or rule that does not exist (a typo holds nothing)."""
        _known("kind", silence.kind, self.kinds)
        _known("city", silence.city, self.cities)
        _known("rule_id", silence.rule_id, self.rules)

    def covers_safety(self, silence: Silence) -> bool:
        """Whether the silence could hold outreach for a safety kind (SOS, crash, ...)."""
        if silence.kind != ANY:
            return silence.kind in SAFETY_KINDS
        if silence.rule_id != ANY and silence.rule_id in self.rules:
            return self.rules[silence.rule_id] in SAFETY_KINDS
        return True


def _known(field: str, value: str, known: Iterable[str]) -> None:
    if value == ANY or value in known:
        return
    names = sorted(known)
    hint = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "") if names else "none yet"
    raise SilenceError(f"{field}: unknown {field.removesuffix('_id')} {value!r} (known: {hint})")


def check_safety(silence: Silence, covers_safety: bool, role: str, confirmed: bool, max_s: int) -> None:
    """A silence over a safety kind: admins only, confirmed explicitly, at most `max_s` long."""
    if not covers_safety:
        return
    if role != "admin":
        raise SilenceError("kind: this silence would hold SOS, crash and other safety outreach: admins only")
    if not confirmed:
        raise SilenceError("confirm_safety: this silence holds safety outreach; confirm it explicitly")
    if silence.until_ms - silence.starts_ms > max_s * 1000:
        raise SilenceError(f"until: a silence over safety kinds lasts at most {span(max_s)}")
