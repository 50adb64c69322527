"""The per-trip decision logic, free of faust: events and deadlines in, incident changes out.

`TripProcessor` is called by the faust agent (and by tests, directly). It folds each
event into the trip state, asks the detectors what changed, and says when the trip next
needs the clock, so the wiring can schedule it. Every `open` passes through `_add`, where
the rule has its say (`rules.judge`) and the trip's incident bookkeeping is kept:
one incident per kind, severities, and inhibition (a critical incident makes lesser ones
subordinate to it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from core import models
from core.checkin import StopEscalation
from core.incidents import SEVERITY_RANK, IncidentChange, incident_id_for
from monitor import traffic
from monitor.checkin_escalation import escalated_long_stop
from monitor.detectors import DETECTORS
from monitor.detectors.base import Detector
from monitor.trip_state import (
    NO_ENTRIES,
    OpenMark,
    TripState,
    apply_payment,
    apply_ping,
    apply_safety,
    apply_trip_event,
    entries,
    restart_view,
)
from rules.context import PassengerCache
from rules.judge import judge
from rules.loader import LoadedRule, RuleSet

CRITICAL = "critical"
LONG_STOP = "long_stop"  # the detector a stop check-in escalates to


@dataclass
class Outcome:
    """What one event or deadline did to a trip."""

    changes: list[IncidentChange] = field(default_factory=list)
    state_changed: bool = False  # the table must be written: a restart needs this


class TripProcessor:
    def __init__(
        self,
        rules: RuleSet,
        dedup_window: int = 256,
        allowed_lateness_ms: int = 1000,
        checkpoint_ms: int = 30_000,
    ) -> None:
        self.rules = rules
        self.dedup_window = dedup_window
        self.allowed_lateness_ms = allowed_lateness_ms
        self.checkpoint_ms = checkpoint_ms
        self.passengers = PassengerCache()  # filled by the app; read by rule conditions
        self.traffic = traffic.TrafficGrid()  # this worker's recent speeds, for stop_checkin
        self.on_condition_failure: Callable[[str], None] | None = None  # rule id: the app counts it
        self._pairs: list[tuple[LoadedRule, Detector]] = []
        self._with_deadline: list[tuple[LoadedRule, Detector]] = []
        self._clearing: list[tuple[LoadedRule, Detector]] = []
        self._by_type: dict[type, list[tuple[LoadedRule, Detector]]] = {}
        self._pairs_of: RuleSet | None = None

    # --- entry points -----------------------------------------------------------------

    def on_event(
        self, state: TripState, event: models.InputEvent, event_time_ms: int | None = None
    ) -> Outcome:
        """One decoded input event of any topic. `event_time_ms`: how far the trip's partition is
        read (monitor.watermarks); pings read before a late `trip.started` judge the deadlines
        they pass only that far (by default, as far as they go)."""
        if isinstance(event, models.TelemetryPing):
            return self._on_ping(state, event)
        if not state.remember_event(event.event_id, self.dedup_window):
            return Outcome()
        if isinstance(event, models.PaymentEvent):
            apply_payment(state, event)
        elif isinstance(event, models.SafetySignal):
            apply_safety(state, event)
        else:
            apply_trip_event(state, event)
        outcome = Outcome(state_changed=True)
        if isinstance(event, models.TripStarted | models.TripRerouted):
            self._replay_pings(outcome, state, event.ts, event_time_ms)
        self._detect(outcome, state, event)
        return outcome

    on_trip_event = on_event

    def on_clock(self, state: TripState, now_ms: int, event_time_ms: int | None = None) -> Outcome:
        """The clock reached one of the trip's deadlines (plus the allowed lateness).

        `event_time_ms` is how far the trip's partition has been read (see
        monitor.watermarks); by default the wall clock.
        """
        outcome = Outcome()
        event_time = now_ms if event_time_ms is None else event_time_ms
        self._fire_deadlines(outcome, state, event_time - self.allowed_lateness_ms)
        if state.replay_from_ts is not None:  # pings that waited for this deadline go on
            self._replay_pings(outcome, state, state.replay_from_ts, event_time)
        self._resolve_cleared(outcome, state)
        return outcome

    def on_stop_escalation(self, state: TripState, request: StopEscalation) -> Outcome:
        """Outreach escalated the stop check-in ("help", or no answer): the trip's long_stop rules
        open now, through `_add` like any other (monitor.checkin_escalation)."""
        if not state.mid_trip or not state.remember_event(request.event_id, self.dedup_window):
            return Outcome()  # not a trip of ours in progress, or a repeat
        outcome = Outcome(state_changed=True)
        for rule, detector in self._rules():
            if detector.name == LONG_STOP:
                self._add(outcome, state, rule, escalated_long_stop(state, rule, request))
        return outcome

    def _fire_deadlines(self, outcome: Outcome, state: TripState, watermark: int) -> None:
        for rule, detector in self._deadline_rules():
            due = self._deadline(state, rule, detector)
            if due is None or due > watermark:
                continue
            state.fired = entries(state.fired)
            state.fired[rule.id] = due
            outcome.state_changed = True
            self._add(outcome, state, rule, detector.check_deadline(state, rule, watermark))

    def next_deadline(self, state: TripState) -> int | None:
        """Wall-clock time the trip next needs `on_clock`, or None."""
        self._refresh_deadlines(state)
        due = min(state.deadlines.values(), default=None)
        return None if due is None else due + self.allowed_lateness_ms

    # --- events -----------------------------------------------------------------------

    def _on_ping(self, state: TripState, event: models.TelemetryPing) -> Outcome:
        before = restart_view(state)
        if apply_ping(state, event) is None:
            return Outcome()  # the same ping again (pings may lack event ids: same ts)
        traffic.observe(self.traffic, state, event)  # every ping counts for the traffic around it
        if state.replay_from_ts is not None and event.ts >= state.replay_from_ts:
            return Outcome(state_changed=True)  # judged in turn, after the pings waiting before it
        outcome = Outcome()
        self._detect(outcome, state, event)
        last = state.last_ping_ts or 0
        if (
            outcome.state_changed
            or restart_view(state) != before
            or (last - (state.checkpoint_ts or 0) >= self.checkpoint_ms)
        ):
            state.checkpoint_ts = last
            outcome.state_changed = True
        return outcome

    def _replay_pings(
        self, outcome: Outcome, state: TripState, since_ts: int, event_time_ms: int | None
    ) -> None:
        """Pings read before the `trip.started` (or reroute) they follow in event time (the topics
        are read independently) are judged now, against the plan, in time order, with the
        deadlines they pass judged between them, as if read live: a stop's deadline before the
        ping that ends it. A deadline the partition is not read far enough to judge holds the
        pings from there on (`replay_from_ts`) until it is judged (`on_clock`)."""
        latest = state.last_ping_ts
        state.replay_from_ts = None
        state.last_ping_ts = max((p.ts for p in state.pings if p.ts < since_ts), default=None)
        for ping in [p for p in state.pings if p.ts >= since_ts]:
            due = self.next_deadline(state)
            if due is not None and due <= ping.ts:
                if event_time_ms is not None and due > event_time_ms:
                    state.replay_from_ts = ping.ts
                    break
                self._fire_deadlines(
                    outcome, state, min(ping.ts, event_time_ms or ping.ts) - self.allowed_lateness_ms
                )
            state.last_ping_ts = ping.ts  # as it was when this ping was the newest
            event = models.TelemetryPing(
                state.order_id, "", ping.ts, ping.lat, ping.lon, ping.speed_kmh, accuracy_m=ping.accuracy_m
            )
            for rule, detector in self._rules_reading(event):
                self._add(outcome, state, rule, detector.check_event(state, rule, event))
        state.last_ping_ts = latest
        outcome.state_changed = True

    def _detect(self, outcome: Outcome, state: TripState, event: models.InputEvent) -> None:
        for rule, detector in self._rules_reading(event):
            self._add(outcome, state, rule, detector.check_event(state, rule, event))
        self._resolve_cleared(outcome, state)

    def _rules(self) -> list[tuple[LoadedRule, Detector]]:
        """The enabled rules with their detectors (rebuilt when the rule set is replaced)."""
        if self._pairs_of is not self.rules:
            self._pairs = [
                (rule, DETECTORS[rule.rule.detector])
                for rule in self.rules.rules
                if rule.rule.enabled and rule.rule.detector in DETECTORS
            ]
            self._with_deadline = [(r, d) for r, d in self._pairs if d.has_deadline]
            self._clearing = [(r, d) for r, d in self._pairs if d.can_clear]
            self._by_type = {}
            self._pairs_of = self.rules
        return self._pairs

    def _rules_reading(self, event: models.InputEvent) -> list[tuple[LoadedRule, Detector]]:
        """The rules whose detectors read events of this type (a ping reads few of them)."""
        self._rules()
        found = self._by_type.get(type(event))
        if found is None:
            found = [(r, d) for r, d in self._pairs if isinstance(event, d.events)]
            self._by_type[type(event)] = found
        return found

    def _deadline_rules(self) -> list[tuple[LoadedRule, Detector]]:
        self._rules()
        return self._with_deadline

    # --- deadlines --------------------------------------------------------------------

    def _deadline(self, state: TripState, rule: LoadedRule, detector: Detector) -> int | None:
        """The rule's pending deadline: none while its kind is open, none once it fired."""
        if rule.rule.kind in state.open_incidents:
            return None
        due = detector.deadline(state, rule)
        if due is None or state.fired.get(rule.id) == due:
            return None
        return due

    def _refresh_deadlines(self, state: TripState) -> None:
        deadlines: dict[str, int] = {}
        for rule, detector in self._deadline_rules():
            due = self._deadline(state, rule, detector)
            if due is not None:
                deadlines[rule.id] = due
        state.deadlines = deadlines or NO_ENTRIES

    # --- the incident bookkeeping -------------------------------------------------------

    def _add(
        self, outcome: Outcome, state: TripState, rule: LoadedRule, change: IncidentChange | None
    ) -> None:
        """Every `open` passes here: the rule's condition, exceptions and escalations have
        their say (rules.judge); then the trip's open incidents and inhibition are kept."""
        if change is None:
            return
        judged = judge(self.rules, state, change, self.passengers, self.on_condition_failure)
        if judged is None:
            return
        mark = state.open_incidents.get(judged.kind)
        severity = judged.severity
        if mark is not None and SEVERITY_RANK[mark.severity] > SEVERITY_RANK[severity]:
            severity = mark.severity  # an incident's severity never falls while it is open
        state.open_incidents = entries(state.open_incidents)
        state.open_incidents[judged.kind] = OpenMark(severity, mark.trigger_ts if mark else judged.trigger_ts)
        outcome.state_changed = True
        if severity == CRITICAL and state.dominant is None:
            self._set_dominant(outcome, state, incident_id_for(state.order_id, judged.kind))
        subordinate_to = None if severity == CRITICAL else state.dominant
        outcome.changes.append(msgspec.structs.replace(judged, subordinate_to=subordinate_to))

    def _resolve_cleared(self, outcome: Outcome, state: TripState) -> None:
        if not state.open_incidents:
            return
        self._rules()
        for rule, detector in self._clearing:
            if rule.rule.kind not in state.open_incidents:
                continue
            reason = detector.cleared(state, rule)
            if reason is not None:
                del state.open_incidents[rule.rule.kind]
                outcome.state_changed = True
                kind = rule.rule.kind
                resolve = IncidentChange(action="resolve", kind=kind, order_id=state.order_id, reason=reason)
                outcome.changes.append(resolve)
        dominant_kind = state.dominant.removeprefix(state.order_id + ":") if state.dominant else None
        if dominant_kind is not None and dominant_kind not in state.open_incidents:
            critical = [k for k, m in state.open_incidents.items() if m.severity == CRITICAL]
            successor = incident_id_for(state.order_id, critical[0]) if critical else None
            self._set_dominant(outcome, state, successor)

    def _set_dominant(self, outcome: Outcome, state: TripState, incident_id: str | None) -> None:
        """Make `incident_id` the one lesser open incidents are subordinate to (or none)."""
        state.dominant = incident_id
        for kind, mark in state.open_incidents.items():
            if mark.severity == CRITICAL or incident_id_for(state.order_id, kind) == incident_id:
                continue
            outcome.changes.append(
                IncidentChange(
                    action="subordinate", kind=kind, order_id=state.order_id, subordinate_to=incident_id
                )
            )
