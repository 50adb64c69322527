"""What outreach does for an incident: template, channels, case, survey, paging.

A rule that says `actions:` is followed exactly (`notify` absent = no passenger message;
`notify.template`, `notify.channels`, `notify.refund`, `notify.group_wait`, `open_case`, `page.to`, `page.after`,
`repeat_interval`, `resolve_after`).
A rule that says nothing about actions, or an incident whose rule is unknown here, gets the
defaults: the kind's template (else `generic`), a case, push/SMS/webhook in the passenger's
order, a survey after cancellations and double charges, no refund promised. Critical incidents always page. The
engine also takes any silence check (`is_silenced(incident, now_ms)`, plain or async).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from notifiers.model import IncidentView
from notifiers.render import Templates

if TYPE_CHECKING:
    from rules.loader import RuleSet

GENERIC_TEMPLATE = "generic"
# Kinds whose first message waits otherwise than the outreach setting says (seconds); a rule's
# `notify.group_wait` overrides it.
GROUP_WAIT_S: dict[str, float] = {}
SURVEY_KINDS = frozenset({"driver_cancellation", "system_cancellation", "double_charge"})
# Incidents that end on a final event (nothing later clears them): they resolve themselves this
# long after opening, so their closing message and survey happen. A rule's `actions.resolve_after`
# overrides it (and gives any rule a lifecycle). Payment kinds wait longer: a refund or a later
# capture may still clear them the ordinary way.
RESOLVE_AFTER_S = {
    "system_cancellation": 900.0,
    "early_end": 900.0,
    "double_charge": 3600.0,
    "payment_failure": 3600.0,
}


@dataclass(frozen=True)
class Policy:
    template: str
    open_case: bool = True
    survey: bool = False
    notify_passenger: bool = True
    channels: tuple[str, ...] | None = None  # allowed channels; None = any
    refund: bool = False  # the rule says a refund is requested: a message may promise one
    page: bool = False  # page on-call (critical incidents always do)
    page_to: str | None = None  # the on-call route to page first (a name in `page_routes`)
    page_after_s: float = 0.0  # page only if still unacknowledged this long after opening
    repeat_interval_s: float | None = None  # remind paged on-call this often while unacknowledged
    resolve_after_s: float | None = None  # a final-event incident resolves itself this long after opening
    group_wait_s: float | None = None  # wait before the first message; None: the outreach setting


PolicyFn = Callable[[IncidentView], Policy]
SilenceCheck = Callable[[IncidentView, int], bool | Awaitable[bool]]


def default_policy_for(templates: Templates) -> PolicyFn:
    known = set(templates.names())

    def policy(incident: IncidentView) -> Policy:
        template = incident.kind if incident.kind in known else GENERIC_TEMPLATE
        return Policy(
            template=template,
            survey=incident.kind in SURVEY_KINDS,
            resolve_after_s=RESOLVE_AFTER_S.get(incident.kind),
            group_wait_s=GROUP_WAIT_S.get(incident.kind),
        )

    return policy


def rule_policy_for(rules: Callable[[], RuleSet | None], fallback: PolicyFn) -> PolicyFn:
    """Follow the incident's rule (from the rule set in force) when it says `actions:`."""

    def policy(incident: IncidentView) -> Policy:
        rule_set = rules()
        loaded = rule_set.by_id(incident.rule_id) if rule_set is not None else None
        if loaded is None or "actions" not in loaded.rule.model_fields_set:
            return fallback(incident)
        default = fallback(incident)
        actions = loaded.rule.actions
        notify = actions.notify
        return replace(
            default,
            template=(notify.template if notify and notify.template else default.template),
            open_case=actions.open_case,
            notify_passenger=notify is not None,
            channels=tuple(notify.channels) if notify else None,
            refund=notify.refund if notify else False,
            page=actions.page is not None,
            page_to=actions.page.to if actions.page else None,
            page_after_s=actions.page.after if actions.page else 0.0,
            repeat_interval_s=actions.repeat_interval or None,
            resolve_after_s=actions.resolve_after or default.resolve_after_s,
            group_wait_s=notify.group_wait
            if notify and notify.group_wait is not None
            else default.group_wait_s,
        )

    return policy


def never_silenced(incident: IncidentView, now_ms: int) -> bool:
    return False


async def silenced(check: SilenceCheck, incident: IncidentView, now_ms: int) -> bool:
    result = check(incident, now_ms)
    if inspect.isawaitable(result):
        result = await result
    return bool(result)
