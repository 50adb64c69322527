"""The stop check-in's own figures in `tripwatch evaluate`: how soon, and how often a jam drew one.

The check-in is a safety message: outreach sends it when the incident opens (no group_wait),
so the time from the car stopping to the incident opening is the time to the first message,
less outreach's own delivery time (`docs/detection.md`, "Jam or stop").
"""

from __future__ import annotations

from typing import Any, Protocol


class Report(Protocol):
    """What this reads of `tools.evaluate.Report` (not imported: evaluate imports this)."""

    kinds: dict[str, Any]
    negatives: dict[str, Any]


KIND = "stop_checkin"
JAM_CASES = ("traffic_jam", "jam_standstill")  # the simulator's jams: none may draw a check-in
FIRST_MESSAGE_BAR_S = 240.0  # issue 18: the first message within 4 min of the car stopping


def summary(report: Report) -> dict[str, Any] | None:
    score = report.kinds.get(KIND)
    jams = {case: report.negatives[case] for case in JAM_CASES if case in report.negatives}
    if score is None and not jams:
        return None
    ttd = sorted(score.ttd_s) if score else []
    drew = sorted({item for _, raised in jams.values() for item in raised if item.endswith(":" + KIND)})
    return {
        "stops_labelled": (score.true_positives + score.misses) if score else 0,
        "precision": score.precision if score else None,
        "recall": score.recall if score else None,
        "first_message_p50_s": score.ttd_median_s if score else None,
        "first_message_p95_s": score.ttd_p95_s if score else None,
        "first_message_max_s": ttd[-1] if ttd else None,
        "within_bar": sum(1 for t in ttd if t <= FIRST_MESSAGE_BAR_S),
        "jam_trips": sum(trips for trips, _ in jams.values()),
        "jams_with_checkin": len(drew),
    }


def format_summary(report: Report) -> list[str]:
    figures = summary(report)
    if figures is None:
        return []

    def secs(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}s"

    return [
        "",
        f"stop check-in: {figures['within_bar']} of {figures['stops_labelled']} stops asked"
        f" within {FIRST_MESSAGE_BAR_S:.0f} s of stopping (first message p50"
        f" {secs(figures['first_message_p50_s'])}, p95 {secs(figures['first_message_p95_s'])},"
        f" max {secs(figures['first_message_max_s'])});"
        f" jams that drew one: {figures['jams_with_checkin']} of {figures['jam_trips']}",
    ]
