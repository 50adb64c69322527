"""Per-trip working state: what Tripwatch knows of one order, keyed by `order_id`.

It lives in the faust table `trips` (so a restarted worker gets it back from the
changelog) and in a per-worker cache in front of it. Only changes a restart needs are
written to the table; see `monitor.processor`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from monitor import models

ACTIVE, ENDED = "active", "ended"


class TripState(msgspec.Struct, kw_only=True):
    order_id: str
    partition: int = -1
    passenger_id: str | None = None
    city: str | None = None
    promised_pickup_ts: int | None = None
    eta_pickup_ts: int | None = None
    driver: dict[str, Any] | None = None
    arrived_ts: int | None = None
    started_ts: int | None = None
    ended_ts: int | None = None
    end_reason: str | None = None
    # deadline name -> due time (ms since epoch, wall clock = event time)
    deadlines: dict[str, int] = {}
    # kinds of incident this trip has open right now
    open_incidents: list[str] = []
    # most recent event ids, oldest first, for de-duplication
    recent_event_ids: list[str] = []

    @property
    def ended(self) -> bool:
        return self.ended_ts is not None

    def remember_event(self, event_id: str | None, window: int) -> bool:
        """Record `event_id`; False when it was seen already (a redelivery)."""
        if event_id is None:
            return True
        if event_id in self.recent_event_ids:
            return False
        self.recent_event_ids.append(event_id)
        if len(self.recent_event_ids) > window:
            del self.recent_event_ids[: len(self.recent_event_ids) - window]
        return True


def apply_trip_event(state: TripState, event: models.AnyTripEvent) -> None:
    """Fold one trip event into the state (facts only; detection is elsewhere)."""
    if event.city and not state.city:
        state.city = event.city
    match event:
        case models.OrderCreated():
            state.passenger_id = event.passenger_id
            state.promised_pickup_ts = event.promised_pickup_ts
        case models.DriverAssigned():
            state.driver = msgspec.to_builtins(event.driver)
            state.eta_pickup_ts = event.eta_pickup_ts
        case models.DriverEtaUpdated():
            state.eta_pickup_ts = event.eta_pickup_ts
        case models.DriverArrived():
            state.arrived_ts = state.arrived_ts or event.ts
        case models.TripStarted():
            state.started_ts = state.started_ts or event.ts
            state.arrived_ts = state.arrived_ts or event.ts
        case models.TripCompleted():
            _end(state, event.ts, "completed")
        case models.OrderCancelled():
            _end(state, event.ts, f"cancelled by {event.cancelled_by}")


def _end(state: TripState, ts: int, reason: str) -> None:
    if state.ended_ts is None:
        state.ended_ts = ts
        state.end_reason = reason


def encode_state(state: TripState) -> bytes:
    return msgspec.json.encode(state)


def decode_state(raw: bytes) -> TripState:
    return msgspec.json.decode(raw, type=TripState)
