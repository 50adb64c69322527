"""The trip as it stands now, from the order's event log, and how an incident on it ended.

Messages are rendered from these facts at the moment they are queued, not from the incident's
`details` (a snapshot taken when the incident last changed): after a driver cancels, the
incident may still name them, but the trip log knows they are gone.

- current driver: the last `driver.assigned` not followed by a driver's `order.cancelled`;
- pickup ETA: from that assignment or a later `driver.eta_updated` (none without a driver);
- dropoff ETA: the latest of `trip.started`, `trip.eta_updated`, `trip.rerouted`;
- the end: `trip.completed`, or `order.cancelled` by the passenger or the system;
- a no-show: `order.cancelled` by the driver with `reason: no_show` after `driver.arrived`.

`ending` names how an incident ended, for its closing message (see docs/outreach.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import redis.asyncio as aioredis

from core.trip_log import read_events

Ending = Literal[
    "arrived", "completed", "passenger_cancelled", "system_cancelled", "person", "cleared", "closed"
]
ENDINGS: tuple[Ending, ...] = (
    "arrived", "completed", "passenger_cancelled", "system_cancelled", "person", "cleared", "closed",
)  # fmt: skip
ENDING_WORDS: dict[Ending, str] = {
    "arrived": "the driver arrived",
    "completed": "the trip was completed",
    "passenger_cancelled": "the passenger cancelled the order",
    "system_cancelled": "the platform cancelled the order",
    "person": "a person (supervisor) resolved it",
    "cleared": "the condition cleared by itself",
    "closed": "any other resolution",
}

# What the detectors say when an incident clears (`cleared(...)` in monitor/detectors/).
REASONS: dict[str, Ending] = {
    "driver arrived": "arrived",
    "a new driver arrived": "arrived",
    "trip completed": "completed",
    "the car is back on the planned route": "cleared",
    "the plan was replaced by an accepted reroute": "cleared",
    "the car is moving again": "cleared",
    "telemetry is back": "cleared",
    "payment captured": "cleared",
    "extra capture refunded": "cleared",
}
NO_SHOW = "no_show"  # `order.cancelled` reason: the driver waited and the passenger never came
TRIP_ENDED = re.compile(r"^(?:trip|order) ended \((.+)\)$")
ENDED_BY: dict[str, Ending] = {
    "completed": "completed",
    "cancelled by passenger": "passenger_cancelled",
    "cancelled by system": "system_cancelled",
}


@dataclass(frozen=True)
class TripFacts:
    known: bool = False  # the log had any event of this order
    driver: dict[str, Any] | None = None  # the current driver, None while there is none
    eta_pickup_ts: int | None = None
    eta_dropoff_ts: int | None = None
    arrived: bool = False  # the current driver arrived (or the trip started)
    completed: bool = False
    cancelled_by: str | None = None  # "passenger" or "system": the order is over
    driver_cancellations: int = 0
    no_show_driver: dict[str, Any] | None = None  # the driver who cancelled for a no-show after arriving
    fare: dict[str, Any] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.completed or self.cancelled_by is not None


def trip_facts(events: list[dict[str, Any]]) -> TripFacts:
    """Fold the order's events (in event-time order, as `read_events` gives them)."""
    facts = TripFacts(known=bool(events))
    for event in events:
        fold = _FOLD.get(str(event.get("type")))
        if fold is not None:
            facts = fold(facts, event)
    return facts


async def read_trip_facts(redis: aioredis.Redis, order_id: str) -> TripFacts:
    return trip_facts(await read_events(redis, order_id))


def ending(resolution: str | None, trip: TripFacts) -> Ending:
    """How an incident ended, from its resolution and the trip as it stands now, in this order:

    1. a person's resolution (`actor: reason`, core/supervision.py): "person";
    2. the condition itself cleared (the car moves again, the payment went through): "cleared";
    3. the order is cancelled now by the passenger or the platform, whatever the detector saw
       first (the driver arrived, then the passenger cancelled: it is a cancelled order);
    4. the detector's reason (the driver arrived, the trip ended);
    5. a completed trip; anything else: "closed" (a neutral closing message).
    """
    reason = (resolution or "").strip()
    if reason and reason not in REASONS and not TRIP_ENDED.match(reason) and ": " in reason:
        return "person"
    if REASONS.get(reason) == "cleared":
        return "cleared"
    if trip.cancelled_by in ("passenger", "system"):
        return "passenger_cancelled" if trip.cancelled_by == "passenger" else "system_cancelled"
    match = TRIP_ENDED.match(reason)
    found = REASONS.get(reason) or (ENDED_BY.get(match.group(1)) if match else None)
    if found is not None:
        return found
    return "completed" if trip.completed else "closed"


def _assigned(facts: TripFacts, event: dict[str, Any]) -> TripFacts:
    driver = event.get("driver") if isinstance(event.get("driver"), dict) else None
    return replace(facts, driver=driver, eta_pickup_ts=_ts(event, "eta_pickup_ts"), arrived=False)


def _eta_pickup(facts: TripFacts, event: dict[str, Any]) -> TripFacts:
    if facts.driver is None:
        return facts  # an ETA for nobody: the driver it was for cancelled
    return replace(facts, eta_pickup_ts=_ts(event, "eta_pickup_ts") or facts.eta_pickup_ts)


def _arrived(facts: TripFacts, event: dict[str, Any]) -> TripFacts:
    return replace(facts, arrived=facts.driver is not None or facts.arrived)


def _eta_dropoff(facts: TripFacts, event: dict[str, Any]) -> TripFacts:
    eta = _ts(event, "eta_dropoff_ts")
    started = facts.arrived or event.get("type") == "trip.started"
    return replace(facts, eta_dropoff_ts=eta or facts.eta_dropoff_ts, arrived=started)


def _completed(facts: TripFacts, event: dict[str, Any]) -> TripFacts:
    fare = event.get("fare") if isinstance(event.get("fare"), dict) else {}
    return replace(facts, completed=True, fare=fare)


def _cancelled(facts: TripFacts, event: dict[str, Any]) -> TripFacts:
    by = event.get("cancelled_by")
    if by == "driver":  # the order lives on without them
        count = facts.driver_cancellations + 1
        no_show = facts.driver if facts.arrived and event.get("reason") == NO_SHOW else None
        return replace(
            facts, driver=None, eta_pickup_ts=None, arrived=False, driver_cancellations=count,
            no_show_driver=no_show or facts.no_show_driver,
        )  # fmt: skip
    return replace(facts, cancelled_by=str(by))


def _ts(event: dict[str, Any], name: str) -> int | None:
    value = event.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


_FOLD = {
    "driver.assigned": _assigned,
    "driver.eta_updated": _eta_pickup,
    "driver.arrived": _arrived,
    "trip.started": _eta_dropoff,
    "trip.eta_updated": _eta_dropoff,
    "trip.rerouted": _eta_dropoff,
    "trip.completed": _completed,
    "order.cancelled": _cancelled,
}
