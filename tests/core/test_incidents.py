"""Incident transitions: one incident per order and kind; repeats change nothing."""

from __future__ import annotations

from core.incidents import IncidentChange, incident_id_for, transition

OPEN = IncidentChange(
    action="open", kind="pickup_delay", order_id="o1", passenger_id="p1", rule_id="r", rule_version="v1",
    severity="medium", trigger_ts=1_000, summary="late", details={"eta": 5},
)  # fmt: skip
RESOLVE = IncidentChange(action="resolve", kind="pickup_delay", order_id="o1", reason="driver arrived")


def test_first_open_creates_revision_one() -> None:
    incident = transition(None, OPEN, now_ms=2_000)
    assert incident is not None
    assert incident.incident_id == incident_id_for("o1", "pickup_delay") == "o1:pickup_delay"
    assert (incident.status, incident.revision, incident.detected_at, incident.trigger_ts) == (
        "open",
        1,
        2_000,
        1_000,
    )


def test_repeated_open_changes_nothing() -> None:
    incident = transition(None, OPEN, now_ms=2_000)
    assert transition(incident, OPEN, now_ms=9_000) is None


def test_later_trigger_updates_and_raises_severity_but_never_lowers_it() -> None:
    incident = transition(None, OPEN, now_ms=2_000)
    worse = transition(
        incident, IncidentChange(**{**_fields(OPEN), "severity": "high", "summary": "later"}), 3_000
    )
    assert worse is not None and (worse.severity, worse.revision, worse.summary) == ("high", 2, "later")
    assert worse.detected_at == 2_000  # still the same incident
    milder = transition(worse, IncidentChange(**{**_fields(OPEN), "severity": "low", "summary": "x"}), 4_000)
    assert milder is not None and milder.severity == "high"


def test_resolve_then_repeat_resolve_changes_nothing() -> None:
    incident = transition(None, OPEN, now_ms=2_000)
    resolved = transition(incident, RESOLVE, now_ms=5_000)
    assert resolved is not None
    assert (resolved.status, resolved.revision, resolved.resolved_at, resolved.resolution) == (
        "resolved",
        2,
        5_000,
        "driver arrived",
    )
    assert transition(resolved, RESOLVE, now_ms=6_000) is None
    assert transition(None, RESOLVE, now_ms=6_000) is None


def test_reopening_keeps_the_id_and_counts_on() -> None:
    resolved = transition(transition(None, OPEN, 2_000), RESOLVE, 5_000)
    reopened = transition(resolved, OPEN, now_ms=8_000)
    assert reopened is not None
    assert (reopened.incident_id, reopened.status, reopened.revision) == ("o1:pickup_delay", "open", 3)
    assert reopened.opened_at == 2_000 and reopened.resolved_at is None


def _fields(change: IncidentChange) -> dict:
    return {name: getattr(change, name) for name in change.__struct_fields__}


def test_an_escalation_starts_its_own_deadline_and_critical_needs_a_new_acknowledgement() -> None:
    incident = transition(None, OPEN, now_ms=2_000)
    assert incident is not None and incident.severity_since == 2_000
    incident.status = "acknowledged"
    high = transition(
        incident, IncidentChange(**{**_fields(OPEN), "severity": "high", "summary": "b"}), 3_000
    )
    assert high is not None and (high.severity_since, high.status) == (3_000, "acknowledged")
    critical = transition(
        high, IncidentChange(**{**_fields(OPEN), "severity": "critical", "summary": "c"}), 7_000
    )
    assert critical is not None and (critical.severity_since, critical.status) == (7_000, "open")
    assert critical.detected_at == 2_000
    same = transition(
        critical, IncidentChange(**{**_fields(OPEN), "severity": "critical", "summary": "d"}), 9_000
    )
    assert same is not None and same.severity_since == 7_000  # news without escalation keeps the deadline
