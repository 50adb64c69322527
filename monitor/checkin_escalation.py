"""The stop check-in escalated ("help", or no answer): open the critical `long_stop` now.

Outreach's request (`core/checkin.py`) reaches the worker that owns the trip (the topic is
co-partitioned with the input). It opens `long_stop` only for the stop the passenger was asked
about, while the car still stands there: a car that moved on has no long stop (on-call was paged
by the check-in all the same). The stop is marked (`Stop.escalated_ts`), and `long_stop` is then
open on the trip, so the detector's own deadline, a second request or a replay add nothing.
"""

from __future__ import annotations

from core.checkin import StopEscalation
from core.clock import span
from core.incidents import IncidentChange
from monitor.detectors.base import open_change
from monitor.detectors.long_stop import stop_details
from monitor.trip_state import TripState
from rules.loader import LoadedRule

SAME_STOP_MS = 30_000  # the rules' stops may begin a ping or two apart; later than this: another stop


def escalated_long_stop(state: TripState, rule: LoadedRule, request: StopEscalation) -> IncidentChange | None:
    """The `open` of `rule` (a long_stop rule) that the request asks for, or None."""
    if not state.mid_trip or rule.rule.kind in state.open_incidents:
        return None
    stop = state.stops.get(rule.id)
    if stop is None or stop.escalated_ts is not None:
        return None  # the car moved on, or this stop was escalated already
    asked_about = request.stopped_since_ts
    if asked_about is not None and stop.since_ts > asked_about + SAME_STOP_MS:
        return None  # a later stop than the one the passenger was asked about
    stop.escalated_ts = request.ts
    stood_s = max(0, request.ts - stop.since_ts) / 1000
    summary = f"car stationary mid-trip for {span(stood_s)}: {request.reason} (stop check-in)"
    details = {
        **stop_details(state, stop),
        "escalated_from": request.checkin_incident_id,
        "escalation_reason": request.reason,
        "follows": [request.checkin_incident_id],  # its message was our first word (docs/told-first.md)
    }
    return open_change(state, rule, request.ts, summary, details)
