"""Payments: a failure not followed by a successful capture, and more than one capture.

A failure whose code is one of `immediate_codes` (the passenger must act) opens at once;
any other failure (a transient processing error) waits `retry_grace_s` for a retry to
succeed, so a retry that goes through raises nothing. Once open, every further failure
updates the incident at once, and `escalate_after` failures raise its severity. A
capture later (in event time) than the failures resolves it; a failure that arrives late,
older than a capture, is history. Captures of `min_captures` distinct payment ids (not
refunded) are a double charge.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core import models
from core.incidents import IncidentChange
from monitor.detectors.base import Detector, is_open, open_change, register
from monitor.trip_state import PaymentFailure, TripState
from rules.loader import LoadedRule
from rules.model import Severity
from rules.params import Params


class PaymentFailureParams(Params):
    retry_grace_s: float = Field(20, ge=0, le=86_400, description="wait for a retry before opening")
    immediate_codes: list[str] = Field(
        ["card_declined", "insufficient_funds", "expired_card", "fraud_suspected"],
        description="codes the passenger must act on: open at once, no retry awaited",
    )
    escalate_after: int = Field(2, ge=2, le=100, description="this many failures escalate")
    escalated_severity: Severity = "high"


class DoubleChargeParams(Params):
    min_captures: int = Field(2, ge=2, le=100, description="captures of distinct payment ids")


def outstanding_failures(state: TripState) -> list[PaymentFailure]:
    """Failures no later capture has made good, oldest first."""
    last_capture = max(state.captures.values(), default=None)
    if last_capture is None:
        return list(state.failures)
    return [f for f in state.failures if f.ts > last_capture]


def check_failure(state: TripState, rule: LoadedRule, event: Any) -> IncidentChange | None:
    if not isinstance(event, models.PaymentEvent) or event.type != "payment.failed":
        return None
    failures = outstanding_failures(state)
    if not any(f.ts == event.ts for f in failures):
        return None  # a capture after it already made it good
    if is_open(state, rule) or event.code in rule.params.immediate_codes:
        return _open(state, rule, failures)
    return None


def retry_deadline(state: TripState, rule: LoadedRule) -> int | None:
    failures = outstanding_failures(state)
    if not failures:
        return None
    return failures[0].ts + int(rule.params.retry_grace_s * 1000)


def check_deadline(state: TripState, rule: LoadedRule, watermark: int) -> IncidentChange | None:
    due = retry_deadline(state, rule)
    if due is None or watermark < due:
        return None
    return _open(state, rule, outstanding_failures(state))


def failure_cleared(state: TripState, rule: LoadedRule) -> str | None:
    return None if outstanding_failures(state) else "payment captured"


def _open(state: TripState, rule: LoadedRule, failures: list[PaymentFailure]) -> IncidentChange:
    last = failures[-1]
    count = max(len(failures), max((f.attempt or 0) for f in failures))
    escalated = count >= rule.params.escalate_after
    attempt = f" (attempt {last.attempt})" if last.attempt else ""
    summary = f"payment failed: {last.code}{attempt}"
    if len(failures) > 1:
        summary = f"payment failed {len(failures)} times, last: {last.code}{attempt}"
    details = {
        "code": last.code,
        "attempt": last.attempt,
        "failures": len(failures),
        "payment_id": last.payment_id,
        "amount_minor": last.amount_minor,
        "currency": last.currency,
    }
    severity = rule.params.escalated_severity if escalated else None
    return open_change(state, rule, last.ts, summary, details, severity)


def live_captures(state: TripState) -> dict[str, int]:
    return {pid: ts for pid, ts in state.captures.items() if pid not in state.refunds}


def check_double(state: TripState, rule: LoadedRule, event: Any) -> IncidentChange | None:
    if not isinstance(event, models.PaymentEvent) or event.type != "payment.captured":
        return None
    captures = live_captures(state)
    if len(captures) < rule.params.min_captures:
        return None
    ids = sorted(captures, key=lambda pid: captures[pid])
    summary = f"{len(ids)} captures for one order ({', '.join(ids)})"
    details = {"payment_ids": ids, "amount_minor": event.amount_minor, "currency": event.currency}
    return open_change(state, rule, captures[ids[rule.params.min_captures - 1]], summary, details)


def double_cleared(state: TripState, rule: LoadedRule) -> str | None:
    return "extra capture refunded" if len(live_captures(state)) < rule.params.min_captures else None


FAILURE = register(
    Detector(
        name="payment_failure",
        events=(models.PaymentEvent,),
        check_event=check_failure,
        deadline=retry_deadline,
        check_deadline=check_deadline,
        cleared=failure_cleared,
        params=PaymentFailureParams,
    )
)
DOUBLE = register(
    Detector(
        name="double_charge",
        events=(models.PaymentEvent,),
        check_event=check_double,
        cleared=double_cleared,
        params=DoubleChargeParams,
    )
)
