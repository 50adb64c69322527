"""A plan: what one outreach transaction writes besides the conversation (the case, messages,
timeline entries, the next escalation and reminder), filled by notifiers/engine.py and
notifiers/escalation.py."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.checkin import StopEscalation
from notifiers import budget
from notifiers.model import Case, OutboundMessage, TimelineEntry
from notifiers.trip_facts import TripFacts


@dataclass
class Plan:
    """What one transaction writes besides the conversation."""

    case: Case | None = None
    case_changed: bool = False
    messages: list[OutboundMessage] = field(default_factory=list)
    entries: list[TimelineEntry] = field(default_factory=list)
    spent: int = 0
    escalation_due: int | None = None  # ms of the next escalation step; -1 = no more
    reminder_due: int | None = None  # ms of the next on-call reminder; -1 = no more
    trip: TripFacts | None = None  # the trip as it stands now, read when a message is due
    refund: bool = False  # the rule says a refund is requested: a message may promise one
    driver_spend: budget.Budget | None = None  # the driver's budget, when a driver message counts
    asks_reply: bool = False  # a message queued now asks the passenger for a reply (check-in, survey)
    stop_escalation: StopEscalation | None = None  # ask the worker for long_stop now (stop_escalation.py)
    paged_before: Case | None = None  # an escalated long_stop: the check-in's case that paged for its stop
