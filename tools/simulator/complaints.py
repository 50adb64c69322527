"""Passengers who notice a problem and contact support (`tripwatch simulate --complaints`).

For each labelled incident the passenger notices it some time after its onset (a late car
once the promised time has gone by and they have waited a while; a double charge when the
bank's notification arrives), then may contact support. Whether they do depends on whether
we spoke first, which only the run can tell: the contact is written with `unless_told` (its order), and
`tripwatch evaluate` drops it when the passenger got a message about the order before it
(a passenger told first calls less often: `told_p` of them still do). See docs/scenarios.md.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from core import names
from tools.simulator.emit import Delivery

Range = tuple[float, float]
CHANNELS = (("app", 0.4), ("chat", 0.3), ("call", 0.25), ("email", 0.05))


@dataclass(frozen=True)
class Noticing:
    """How a passenger meets one kind of incident (seconds from the label's onset)."""

    topic: str
    notice_s: Range  # onset -> the passenger notices
    patience_s: Range  # noticed -> they contact support, if they do
    contact_p: float  # share who contact support when we said nothing first
    told_p: float  # share who contact support all the same when we spoke first
    names_order: float = 0.8  # share of contacts in which the passenger or agent names the trip


# Passengers tolerate a few minutes of lateness before they call; a cancellation or a wrong
# drop-off is noticed at once; money when the bank's notification arrives. Kinds a passenger
# does not notice (a lost GPS signal) have no entry.
NOTICING: dict[str, Noticing] = {
    "pickup_delay": Noticing("delay", (60.0, 180.0), (120.0, 300.0), 0.6, 0.1),
    "trip_delay": Noticing("delay", (120.0, 240.0), (120.0, 300.0), 0.4, 0.1),
    "driver_cancellation": Noticing("cancellation", (0.0, 10.0), (90.0, 300.0), 0.5, 0.1),
    "system_cancellation": Noticing("cancellation", (0.0, 10.0), (90.0, 300.0), 0.5, 0.1),
    "route_deviation": Noticing("route", (30.0, 90.0), (60.0, 180.0), 0.3, 0.05),
    "payment_failure": Noticing("payment", (60.0, 240.0), (60.0, 300.0), 0.5, 0.1),
    "double_charge": Noticing("payment", (60.0, 300.0), (60.0, 300.0), 0.7, 0.15),
    "crash_suspected": Noticing("safety", (30.0, 60.0), (60.0, 180.0), 0.3, 0.1),
    "long_stop": Noticing("route", (60.0, 120.0), (60.0, 180.0), 0.3, 0.05),
    "early_end": Noticing("route", (0.0, 30.0), (60.0, 240.0), 0.6, 0.1),
    "sos": Noticing("safety", (0.0, 10.0), (120.0, 300.0), 0.2, 0.05),
}


def complaints(
    seed: int, labels: list[dict[str, Any]], passengers: dict[str, str], start_of: dict[str, float]
) -> list[Delivery]:
    """The contacts the labelled incidents draw. `passengers`: order_id -> passenger_id;
    `start_of`: order_id -> the trip's start (scenario seconds), for labels without an onset."""
    deliveries = []
    for index, label in enumerate(labels):
        noticing = NOTICING.get(label["kind"])
        if noticing is None:
            continue
        rng = random.Random(f"{seed}:complaint:{index}")
        if rng.random() >= noticing.contact_p:
            continue  # this passenger would not contact support even if we said nothing
        onset = label.get("onset", start_of.get(label["order_id"], 0.0))
        at = onset + rng.uniform(*noticing.notice_s) + rng.uniform(*noticing.patience_s)
        event = _contact(rng, noticing, label, passengers[label["order_id"]], index, at)
        told_anyway = rng.random() < noticing.told_p / noticing.contact_p
        unless_told = None if told_anyway else label["order_id"]
        deliveries.append(Delivery(at, names.SUPPORT_CONTACTS, event, unless_told=unless_told))
    return deliveries


def _contact(
    rng: random.Random, noticing: Noticing, label: dict[str, Any], passenger_id: str, index: int, at: float
) -> dict[str, Any]:
    channel = rng.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])[0]
    event: dict[str, Any] = {
        "event_id": f"{label['order_id']}-contact-{index}",
        "type": "support.contacted",
        "ts": round(at, 3),
        "passenger_id": passenger_id,
        "channel": channel,
        "topic": noticing.topic,
        "case_ref": f"HD-{index:06d}",
    }
    if rng.random() < noticing.names_order:
        event["order_id"] = label["order_id"]
    return event
