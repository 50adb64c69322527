"""The shift's figures, from the shift's rows and outreach's counts."""

from __future__ import annotations

from collections import Counter
from statistics import mean
from typing import Any

from dashboard.rows import Row


def shift_figures(
    rows: list[Row], outreach_counts: dict[str, Any] | None, told_first: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`contacted_first_share`: incidents whose passenger got any message; `told_first`: the
    figures against support contacts (monitor/contact_figures.py), None when unreadable."""
    open_rows = [r for r in rows if r["status"] != "resolved"]
    ack_s = [(r["acked_at"] - r["detected_at"]) / 1000 for r in rows if r.get("acked_at")]
    resolve_s = [
        (r["resolved_at"] - r["detected_at"]) / 1000
        for r in rows
        if r["status"] == "resolved" and r["resolved_at"]
    ]
    figures: dict[str, Any] = {
        "open_by_kind": dict(sorted(Counter(r["kind"] for r in open_rows).items())),
        "open_total": len(open_rows),
        "incidents_total": len(rows),
        "mean_ack_s": round(mean(ack_s), 1) if ack_s else None,
        "mean_resolve_s": round(mean(resolve_s), 1) if resolve_s else None,
        "messages_sent": None,
        "messages_failed": None,
        "contacted_first_share": None,
        "told_first": told_first,
    }
    if outreach_counts:
        figures["messages_sent"] = outreach_counts.get("sent")
        figures["messages_failed"] = outreach_counts.get("failed")
        first = set(outreach_counts.get("contacted_first") or ())
        if rows:
            figures["contacted_first_share"] = round(
                sum(r["incident_id"] in first for r in rows) / len(rows), 3
            )
    return figures
