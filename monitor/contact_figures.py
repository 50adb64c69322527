"""The figures of "did they hear from us first", per kind and overall (docs/detection.md).

For the incidents of a period and the support contacts of the same period:
- told-first share: of the incidents that drew a contact (not counting an incident the contact
  itself raised), the share where our first delivered passenger message came before the
  incident's first contact;
- lead time: our first message -> the incident's first contact, p50 and p90 (nearest rank) over
  the incidents told first;
- contact rate: matched contacts per incident (every contact counts, a second call too);
- unmatched contacts: contacts that matched no incident, counted per topic, newest listed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from core.models import SupportContact

OVERALL = "all"
UNMATCHED_LISTED = 50


class Recorded(Protocol):
    contact: SupportContact
    match: dict[str, Any] | None


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest rank: the smallest value with `pct` % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def told_first_figures(records: Iterable[Recorded], incidents_by_kind: Mapping[str, int]) -> dict[str, Any]:
    """{"kinds": {kind: figures}, "overall": figures, "unmatched": {...}}; figures as `_kind_figures`."""
    records = list(records)
    matched = [r for r in records if r.match is not None]
    first = _first_contacts(matched)
    kinds = sorted(set(incidents_by_kind) | {r.match["kind"] for r in matched if r.match})
    per_kind = {
        kind: _kind_figures(
            [m for m in first.values() if m["kind"] == kind],
            sum(1 for r in matched if r.match and r.match["kind"] == kind),
            incidents_by_kind.get(kind, 0),
        )
        for kind in kinds
    }
    overall = _kind_figures(list(first.values()), len(matched), sum(incidents_by_kind.values()))
    return {"kinds": per_kind, "overall": overall, "unmatched": _unmatched(records)}


def _first_contacts(matched: list[Recorded]) -> dict[str, dict[str, Any]]:
    """Each contacted incident's first contact's match (by contact time)."""
    first: dict[str, tuple[int, dict[str, Any]]] = {}
    for record in matched:
        match = record.match or {}
        known = first.get(match["incident_id"])
        if known is None or record.contact.ts < known[0]:
            first[match["incident_id"]] = (record.contact.ts, match)
    return {incident_id: match for incident_id, (_, match) in first.items()}


def _kind_figures(first: list[dict[str, Any]], contacts: int, incidents: int) -> dict[str, Any]:
    drawn = [m for m in first if not m["raised"]]
    told = [m for m in drawn if m["told_first"]]
    leads = [m["lead_ms"] / 1000 for m in told if m["lead_ms"] is not None]
    return {
        "incidents": incidents,
        "contacts": contacts,
        "incidents_contacted": len(drawn),
        "raised_by_contact": len(first) - len(drawn),
        "told_first": len(told),
        "told_first_share": round(len(told) / len(drawn), 3) if drawn else None,
        "lead_p50_s": _rounded(percentile(leads, 50)),
        "lead_p90_s": _rounded(percentile(leads, 90)),
        "contact_rate": round(contacts / incidents, 3) if incidents else None,
    }


def _unmatched(records: list[Recorded]) -> dict[str, Any]:
    lost = sorted((r for r in records if r.match is None), key=lambda r: r.contact.ts, reverse=True)
    by_topic = Counter(r.contact.topic or "none" for r in lost)
    listed = [
        {
            "event_id": r.contact.event_id,
            "ts": r.contact.ts,
            "passenger_id": r.contact.passenger_id,
            "channel": r.contact.channel,
            "topic": r.contact.topic,
            "order_id": r.contact.order_id,
            "case_ref": r.contact.case_ref,
        }
        for r in lost[:UNMATCHED_LISTED]
    ]
    return {"total": len(lost), "by_topic": dict(sorted(by_topic.items())), "latest": listed}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
