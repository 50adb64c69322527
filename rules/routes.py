"""Rules that page a route the settings do not define (`actions.page.to` vs `TRIPWATCH_PAGE_ROUTES`).

A rule's `page.to` names an on-call target; the routing keys are deployment settings, not part
of the rule set, so an unknown name still loads (outreach pages escalation level 1 instead and
says so on the case). `tripwatch rules check` and outreach at start warn about it, so a safety
rule does not quietly page the wrong rotation.
"""

from __future__ import annotations

from core.settings import parse_page_routes
from rules.loader import RuleSet


def undefined_routes(rule_set: RuleSet, page_routes: str) -> list[str]:
    """One `file:line: rule <id>: actions.page.to: warning: ...` per enabled rule paging an
    undefined route."""
    defined = parse_page_routes(page_routes)
    found = []
    for loaded in rule_set.rules:
        page = loaded.rule.actions.page
        if page is None or not loaded.rule.enabled or page.to in defined:
            continue
        known = ", ".join(sorted(defined)) or "none"
        found.append(
            f"{loaded.source}: rule {loaded.id}: actions.page.to: warning: page route {page.to!r} is not"
            f" in TRIPWATCH_PAGE_ROUTES (defined: {known}); its pages go to escalation level 1 instead"
        )
    return found
