"""Plain-text reports of `tripwatch rules test`: per rule, what was raised against what was expected."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from tools.dry_run import Comparison, DryRun, Raised


def expectations(run: DryRun, source: str) -> list[str]:
    """Per rule: each incident raised (✓ expected, + not expected), each expected one not raised (✗)."""
    expected = {(e.kind, e.order_id): e for e in run.scenario.expected}
    lines = [
        f"scenario {run.scenario.name} ({source}), rule set {run.rules_version}: "
        f"{len(run.raised)} incident(s) raised, {len(expected)} expected"
    ]
    by_rule: dict[str, list[Raised]] = defaultdict(list)
    for raised in run.raised.values():
        by_rule[raised.rule_id].append(raised)
    missing = defaultdict(list)
    for item in run.missing():
        missing[item.kind].append(item)
    for rule_id, kind in run.rules:
        entries = [_raised_line(r, expected.get(r.key)) for r in sorted(by_rule.pop(rule_id, []), key=_order)]
        entries += [
            f"    ✗ {e.kind} on {e.order_id}: expected{_at(e.onset_s)}, not raised"
            for e in missing.pop(kind, [])
        ]
        lines.append(f"  rule {rule_id} ({kind}):")
        lines.extend(entries or ["    nothing raised, nothing expected"])
    for kind, items in sorted(missing.items()):
        lines.append(f"  no enabled rule raises {kind}:")
        lines.extend(f"    ✗ {e.kind} on {e.order_id}: expected{_at(e.onset_s)}, not raised" for e in items)
    lines.extend(f"  bad event skipped, {problem}" for problem in run.bad_events)
    return lines


def _raised_line(raised: Raised, hit: Any) -> str:
    if hit is None:
        return f"    + {_describe(raised)}  NOT EXPECTED"
    return (
        f"    ✓ {_describe(raised)}{' (expected' + _at(hit.onset_s) + ')' if hit.onset_s is not None else ''}"
    )


def _at(onset_s: float | None) -> str:
    return "" if onset_s is None else f" at {onset_s:g} s"


def _order(raised: Raised) -> tuple[float, str]:
    return raised.onset_s, raised.order_id


def differences(comparison: Comparison, run: DryRun, baseline_version: str, source: str) -> list[str]:
    """What the change (run) adds and removes against the baseline, incident by incident."""
    lines = [
        f"scenario {run.scenario.name} ({source}): rule set {run.rules_version} against {baseline_version}: "
        f"{len(comparison.added)} added, {len(comparison.removed)} removed, {len(comparison.changed)} changed"
    ]
    lines.extend(f"  + {_describe(raised)}" for raised in comparison.added)
    lines.extend(f"  - {_describe(raised)}" for raised in comparison.removed)
    for before, after in comparison.changed:
        lines.append(
            f"  ~ {after.kind} on {after.order_id}: rule {before.rule_id} {before.severity} "
            f"-> rule {after.rule_id} {after.severity}"
        )
    return lines


def _describe(raised: Raised) -> str:
    return (
        f"{raised.kind} on {raised.order_id} at {raised.onset_s:g} s, {raised.severity}, "
        f"by rule {raised.rule_id}: {raised.summary}"
    )
