"""The events of one trip as they will be delivered: topic, event, delivery time.

Times are scenario seconds. `ts` is when the event happened; `at` is when it is
delivered, later for a late event. Lateness and duplicates are applied last, per event.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from core import names
from tools.simulator.geometry import Point, Projection


@dataclass
class Delivery:
    at: float
    topic: str
    event: dict[str, Any]

    def line(self) -> dict[str, Any]:
        return {"at": round(self.at, 3), "topic": self.topic, "event": self.event}


@dataclass
class TripLog:
    """Collects a trip's events; `finish` applies lateness and duplicates."""

    order_id: str
    projection: Projection
    deliveries: list[Delivery] = field(default_factory=list)
    _serial: int = 0

    def next_id(self, suffix: str) -> str:
        self._serial += 1
        return f"{self.order_id}-{self._serial:03d}-{suffix}"

    def trip_event(self, kind: str, ts: float, **fields: Any) -> dict[str, Any]:
        event = {"event_id": self.next_id(kind), "type": kind, "order_id": self.order_id, "ts": _t(ts)}
        event.update(fields)
        self.deliveries.append(Delivery(ts, names.TRIP_EVENTS, event))
        return event

    def payment(
        self, kind: str, ts: float, passenger_id: str, payment_id: str, amount: int, **more: Any
    ) -> None:
        event = {
            "event_id": self.next_id(kind),
            "type": kind,
            "order_id": self.order_id,
            "passenger_id": passenger_id,
            "ts": _t(ts),
            "payment_id": payment_id,
            "amount_minor": amount,
            "currency": "EUR",
            **more,
        }
        self.deliveries.append(Delivery(ts, names.PAYMENTS, event))

    def safety(self, kind: str, ts: float, source: str, where: Point | None, note: str | None = None) -> None:
        event: dict[str, Any] = {
            "event_id": self.next_id(kind),
            "type": kind,
            "order_id": self.order_id,
            "ts": _t(ts),
            "source": source,
        }
        if note is not None:
            event["note"] = note
        if where is not None:
            event["lat"], event["lon"] = self.projection.to_latlon(where)
        self.deliveries.append(Delivery(ts, names.SAFETY_SIGNALS, event))

    def ping(
        self, ts: float, driver_id: str, where: Point, speed_kmh: float, heading: float, accuracy: float
    ) -> None:
        lat, lon = self.projection.to_latlon(where)
        event = {
            "event_id": self.next_id("gps"),
            "order_id": self.order_id,
            "driver_id": driver_id,
            "ts": _t(ts),
            "lat": lat,
            "lon": lon,
            "speed_kmh": round(max(0.0, speed_kmh), 1),
            "heading_deg": heading,
            "accuracy_m": round(accuracy, 1),
        }
        self.deliveries.append(Delivery(ts, names.TELEMETRY, event))

    def finish(
        self,
        rng: random.Random,
        late_p: float,
        late_s: tuple[float, float],
        duplicate_p: float,
        duplicate_s: tuple[float, float] = (0.2, 3.0),
    ) -> list[Delivery]:
        """Delay some deliveries and repeat some (same event id), then sort by delivery time."""
        out: list[Delivery] = []
        for item in self.deliveries:
            if rng.random() < late_p:
                item.at += rng.uniform(*late_s)
            out.append(item)
            if rng.random() < duplicate_p:
                out.append(Delivery(item.at + rng.uniform(*duplicate_s), item.topic, item.event))
        out.sort(key=lambda d: d.at)
        return out


def _t(seconds: float) -> float:
    return round(seconds, 3)
