"""Per-trip working state: what Tripwatch knows of one order, keyed by `order_id`.

It lives in the faust table `trips` (so a restarted worker gets it back from the
changelog) and in a per-worker cache in front of it. Only changes a restart needs are
written to the table; see `monitor.processor` and `restart_view`.

Every `*_ts` is event time (ms since the epoch). Facts are folded in event-time order
where order matters: a late event never overwrites a newer fact.
"""

from __future__ import annotations

import bisect
from types import MappingProxyType
from typing import Any, TypeVar

import msgspec

from core import models
from monitor import event_ids as seen_ids
from monitor import pings as ping_track
from monitor import route as planned_route
from monitor.event_ids import RecentEventIds
from monitor.pings import Ping, PingTrack
from monitor.route import Route

__all__ = ["Ping", "TripState"]  # Ping lives in monitor.pings; detectors take it from here

LatLon = tuple[float, float]
RECENT_PINGS = 16  # pings kept per trip, newest last: enough to compare neighbours
# The default of the state's maps: one shared, read-only empty map instead of an empty dict in
# every trip (most stay empty; a write goes through `entries`, a write to it raises TypeError).
NO_ENTRIES: Any = MappingProxyType({})


K = TypeVar("K")
V = TypeVar("V")


def entries(mapping: dict[K, V]) -> dict[K, V]:
    """`mapping` to write to: itself, or a new dict in place of the shared empty default."""
    return mapping if type(mapping) is dict else {}


class PaymentFailure(msgspec.Struct, kw_only=True):
    ts: int
    payment_id: str
    code: str
    attempt: int | None = None
    amount_minor: int = 0
    currency: str = ""


class OffRoute(msgspec.Struct, kw_only=True):
    """An open streak of pings far from the planned route (one per route rule)."""

    since_ts: int
    ping_ts: list[int] = []
    start_dropoff_m: float | None = None
    last_dropoff_m: float | None = None
    max_distance_m: float = 0.0


class Stop(msgspec.Struct, kw_only=True):
    """The car stationary since `since_ts` around `anchor` (one per long-stop rule)."""

    since_ts: int
    anchor: LatLon
    last_ts: int
    on_route: bool = False
    jam_ts: int | None = None  # a ping of this stop found the cars around held up too (stop_checkin)
    escalated_ts: int | None = None  # the stop check-in escalated it to long_stop (checkin_escalation)


class TrafficSample(msgspec.Struct, array_like=True):
    """What the worker's traffic grid said at the trip's latest slow ping (monitor/traffic.py)."""

    ts: int
    cars: int  # other cars seen near within the grid's window
    slow: int  # of which held up


class OpenMark(msgspec.Struct, array_like=True):
    severity: str
    trigger_ts: int


# defaults not stored; fields in a fixed order, so that a packed state (monitor.packed_states, its
# fields as one array) is built back positionally
class TripState(msgspec.Struct, omit_defaults=True):
    order_id: str
    partition: int = -1
    passenger_id: str | None = None
    city: str | None = None
    pickup: LatLon | None = None
    dropoff: LatLon | None = None
    pickup_address: str | None = None
    dropoff_address: str | None = None
    account_type: str | None = None
    payment_method: str | None = None
    promised_pickup_ts: int | None = None
    eta_pickup_ts: int | None = None
    driver: dict[str, Any] | None = None
    assigned_ts: int | None = None
    arrived_ts: int | None = None
    started_ts: int | None = None
    ended_ts: int | None = None
    end_reason: str | None = None
    completed_ts: int | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    # drop-off ETA: the baseline (at start or accepted reroute) and the latest update
    eta_dropoff_start_ts: int | None = None
    eta_dropoff_base_ts: int | None = None
    eta_dropoff_ts: int | None = None
    eta_dropoff_at: int | None = None  # event time of the latest ETA
    route: Route = msgspec.field(default_factory=Route)  # stored once, as one array
    route_at: int | None = None  # event time of the plan in force
    driver_cancel_ts: tuple[int, ...] = ()  # tuples: an empty one is shared
    failures: tuple[PaymentFailure, ...] = ()
    captures: dict[str, int] = msgspec.field(default=NO_ENTRIES)  # payment_id -> event time of its capture
    refunds: tuple[str, ...] = ()
    pings: PingTrack = msgspec.field(default_factory=PingTrack)  # packed: 40 bytes a ping
    last_ping_ts: int | None = None
    # pings from here on wait to be judged: read before their `trip.started`, they pass a deadline
    # that the partition is not read far enough to judge yet (TripProcessor._replay_pings)
    replay_from_ts: int | None = None
    checkpoint_ts: int | None = None  # last ping time written to the table
    off_route: dict[str, OffRoute] = msgspec.field(default=NO_ENTRIES)  # rule id -> streak
    stops: dict[str, Stop] = msgspec.field(default=NO_ENTRIES)  # rule id -> stop
    traffic: TrafficSample | None = None
    last_event_ts: int = 0
    # deadline name -> due time (event time)
    deadlines: dict[str, int] = msgspec.field(default=NO_ENTRIES)
    # deadline name -> the due time it last fired at (a deadline fires once)
    fired: dict[str, int] = msgspec.field(default=NO_ENTRIES)
    # kind -> severity and trigger of the incidents this trip has open right now
    open_incidents: dict[str, OpenMark] = msgspec.field(default=NO_ENTRIES)
    # the critical incident lesser ones are subordinate to, if any
    dominant: str | None = None
    # most recent event ids, oldest first, for de-duplication
    recent_event_ids: RecentEventIds = msgspec.field(default_factory=RecentEventIds)  # digests

    @property
    def ended(self) -> bool:
        return self.ended_ts is not None

    @property
    def mid_trip(self) -> bool:
        return self.started_ts is not None and self.ended_ts is None

    @property
    def last_ping(self) -> Ping | None:
        return self.pings[-1] if self.pings else None

    def remember_event(self, event_id: str | None, window: int) -> bool:
        """Record `event_id`; False when it was seen already (a redelivery)."""
        return event_id is None or self.recent_event_ids.remember(event_id, window)

    def touch(self, ts: int) -> None:
        self.last_event_ts = max(self.last_event_ts, ts)


def restart_view(state: TripState) -> tuple[Any, ...]:
    """What a restart needs of the telemetry-driven state: when it changes, write the table."""
    return (
        tuple((k, v.since_ts) for k, v in state.off_route.items()),
        tuple((k, v.since_ts) for k, v in state.stops.items()),
    )


def apply_trip_event(state: TripState, event: models.AnyTripEvent) -> None:
    """Fold one trip event into the state (facts only; detection is elsewhere)."""
    if event.city and not state.city:
        state.city = event.city
    state.touch(event.ts)
    _FOLD[type(event)](state, event)


def _created(state: TripState, event: models.OrderCreated) -> None:
    state.passenger_id = event.passenger_id
    state.promised_pickup_ts = event.promised_pickup_ts
    state.pickup = (event.pickup.lat, event.pickup.lon)
    state.dropoff = (event.dropoff.lat, event.dropoff.lon)
    state.pickup_address, state.dropoff_address = event.pickup.address, event.dropoff.address
    state.account_type, state.payment_method = event.account_type, event.payment_method


def _assigned(state: TripState, event: models.DriverAssigned) -> None:
    if state.assigned_ts is None or event.ts >= state.assigned_ts:
        state.driver = msgspec.to_builtins(event.driver)
        state.eta_pickup_ts = event.eta_pickup_ts
        state.assigned_ts = event.ts


def _started(state: TripState, event: models.TripStarted) -> None:
    state.started_ts = state.started_ts or event.ts
    state.arrived_ts = state.arrived_ts or event.ts
    if state.eta_dropoff_start_ts is None:
        state.eta_dropoff_start_ts = event.eta_dropoff_ts
    if state.eta_dropoff_base_ts is None:
        state.eta_dropoff_base_ts = event.eta_dropoff_ts
    _eta_dropoff(state, event.ts, event.eta_dropoff_ts)
    if state.route_at is None:  # else an accepted reroute, newer, arrived first
        state.route = Route(event.route)
        state.route_at = event.ts


def _rerouted(state: TripState, event: models.TripRerouted) -> None:
    if state.route_at is not None and event.ts < state.route_at:
        return  # an older plan arriving late
    state.route = Route(event.route)
    state.route_at = event.ts
    state.off_route = NO_ENTRIES
    if event.eta_dropoff_ts is not None:
        state.eta_dropoff_base_ts = event.eta_dropoff_ts
        _eta_dropoff(state, event.ts, event.eta_dropoff_ts)


def _eta_dropoff(state: TripState, ts: int, eta: int) -> None:
    if state.eta_dropoff_at is None or ts >= state.eta_dropoff_at:
        state.eta_dropoff_ts = eta
        state.eta_dropoff_at = ts


def _eta_pickup(state: TripState, event: models.DriverEtaUpdated) -> None:
    state.eta_pickup_ts = event.eta_pickup_ts


def _arrived(state: TripState, event: models.DriverArrived) -> None:
    state.arrived_ts = max(state.arrived_ts or 0, event.ts)


def _trip_eta(state: TripState, event: models.TripEtaUpdated) -> None:
    _eta_dropoff(state, event.ts, event.eta_dropoff_ts)


def _completed(state: TripState, event: models.TripCompleted) -> None:
    state.completed_ts = event.ts
    _end(state, event.ts, "completed")


def _cancelled(state: TripState, event: models.OrderCancelled) -> None:
    if event.cancelled_by == "driver":
        # The order lives on: a new driver may be assigned.
        if event.ts not in state.driver_cancel_ts:
            state.driver_cancel_ts = tuple(sorted((*state.driver_cancel_ts, event.ts)))
        return
    state.cancelled_by = event.cancelled_by
    state.cancel_reason = event.reason
    _end(state, event.ts, f"cancelled by {event.cancelled_by}")


def _end(state: TripState, ts: int, reason: str) -> None:
    if state.ended_ts is None:
        state.ended_ts = ts
        state.end_reason = reason


_FOLD: dict[type, Any] = {
    models.OrderCreated: _created,
    models.DriverAssigned: _assigned,
    models.DriverEtaUpdated: _eta_pickup,
    models.DriverArrived: _arrived,
    models.TripStarted: _started,
    models.TripEtaUpdated: _trip_eta,
    models.TripRerouted: _rerouted,
    models.TripCompleted: _completed,
    models.OrderCancelled: _cancelled,
}


def apply_ping(state: TripState, ping: models.TelemetryPing) -> Ping | None:
    """Insert the ping in time order; None when it is a repeat (same ts) of a known ping."""
    state.touch(ping.ts)
    stored = Ping(ping.ts, ping.lat, ping.lon, ping.speed_kmh, ping.accuracy_m)
    times = state.pings.times()
    index = bisect.bisect_left(times, ping.ts)
    if index < len(times) and times[index] == ping.ts:
        return None
    if times and index == 0 and len(times) >= RECENT_PINGS:
        return stored  # older than every kept ping: judged alone, not kept
    state.pings.insert(index, stored)
    state.pings.keep_newest(RECENT_PINGS)
    state.last_ping_ts = max(state.last_ping_ts or 0, ping.ts)
    return stored


def apply_payment(state: TripState, event: models.PaymentEvent) -> None:
    state.touch(event.ts)
    if state.passenger_id is None:
        state.passenger_id = event.passenger_id
    match event.type:
        case "payment.failed":
            failure = PaymentFailure(
                ts=event.ts,
                payment_id=event.payment_id,
                code=event.code or "unknown",
                attempt=event.attempt,
                amount_minor=event.amount_minor,
                currency=event.currency,
            )
            state.failures = tuple(sorted((*state.failures, failure), key=lambda f: f.ts))
        case "payment.captured":
            state.captures = entries(state.captures)
            state.captures.setdefault(event.payment_id, event.ts)
        case "payment.refunded":
            if event.payment_id not in state.refunds:
                state.refunds = (*state.refunds, event.payment_id)


def apply_safety(state: TripState, event: models.SafetySignal) -> None:
    state.touch(event.ts)


_ENCODE_HOOKS: dict[type, Any] = {
    PingTrack: ping_track.encode_hook,
    RecentEventIds: seen_ids.encode_hook,
    Route: planned_route.encode_hook,
    MappingProxyType: lambda value: {},  # NO_ENTRIES, where omit_defaults did not leave it out
}
_DECODE_HOOKS: dict[type, Any] = {
    PingTrack: ping_track.decode_hook,
    RecentEventIds: seen_ids.decode_hook,
    Route: planned_route.decode_hook,
}


def _encode_hook(value: Any) -> Any:
    hook = _ENCODE_HOOKS.get(type(value), planned_route.encode_hook)  # which raises for the rest
    return hook(value)


def _decode_hook(kind: type, value: Any) -> Any:
    return _DECODE_HOOKS.get(kind, planned_route.decode_hook)(kind, value)


_ENCODER = msgspec.json.Encoder(enc_hook=_encode_hook)
_DECODER = msgspec.json.Decoder(TripState, dec_hook=_decode_hook)


def encode_state(state: TripState) -> bytes:
    return _ENCODER.encode(state)


def decode_state(raw: bytes) -> TripState:
    return _DECODER.decode(raw)


def trip_expired(state: TripState, now_ms: int, retention_ms: int, idle_ms: int) -> bool:
    """Whether the trip's state may go: ended longer ago than the retention, or silent too long."""
    if state.ended_ts is not None and now_ms - state.ended_ts > retention_ms:
        return True
    return state.last_event_ts > 0 and now_ms - state.last_event_ts > idle_ms


def expires_at(state: TripState, now_ms: int, retention_ms: int, idle_ms: int) -> int:
    """The earliest wall-clock time at which `trip_expired` can become true, as the state is now."""
    at = (state.last_event_ts or now_ms) + idle_ms
    if state.ended_ts is not None:
        at = min(at, state.ended_ts + retention_ms)
    return at + 1
