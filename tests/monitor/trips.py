"""Build contract events for one trip and feed them to a TripProcessor, on a simulated clock.

The trip runs east along a straight route in Berlin, from PICKUP to DROPOFF (about 4 km);
`on_route(x)` is the point a fraction `x` of the way, `off_route(x, metres)` that point
moved north by `metres`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from core import names
from core.geo import M_PER_DEG
from core.incidents import IncidentChange
from monitor.decoding import DecodeLimits, decode_event
from monitor.processor import TripProcessor
from monitor.trip_state import TripState
from rules.loader import load_rule_dir

PACK = Path(__file__).resolve().parents[2] / "rules" / "pack"
LIMITS = DecodeLimits(max_bytes=65536, max_age_ms=10**13, max_future_ms=10**13)
NOON = int(datetime(2026, 1, 10, 12, 0, tzinfo=UTC).timestamp() * 1000)  # 13:00 in Berlin
MIDNIGHT = int(datetime(2026, 1, 10, 23, 0, tzinfo=UTC).timestamp() * 1000)  # 00:00 in Berlin
PICKUP = (52.52, 13.40)
DROPOFF = (52.52, 13.46)
ROUTE = [[52.52, 13.40 + i * 0.006] for i in range(11)]


def on_route(x: float) -> tuple[float, float]:
    return (PICKUP[0], PICKUP[1] + x * (DROPOFF[1] - PICKUP[1]))


def off_route(x: float, metres: float) -> tuple[float, float]:
    lat, lon = on_route(x)
    return (lat + metres / M_PER_DEG, lon)


class Trip:
    """One order fed through a processor with the built-in rule pack (or `processor`)."""

    def __init__(self, t0: int = NOON, processor: TripProcessor | None = None, order_id: str = "o-1") -> None:
        self.t0 = t0
        self.processor = processor or TripProcessor(load_rule_dir(PACK))
        self.state = TripState(order_id=order_id, partition=0)
        self.order_id = order_id
        self.changes: list[IncidentChange] = []
        self.clock_ms = t0
        self._n = 0

    # --- time ----------------------------------------------------------------------

    def ts(self, seconds: float) -> int:
        return self.t0 + int(seconds * 1000)

    def advance(self, seconds: float) -> list[IncidentChange]:
        """Let the wall clock run to t0 + `seconds`, firing deadlines as the worker's timer does."""
        return self._clock_to(self.ts(seconds))

    def _clock_to(self, until: int) -> list[IncidentChange]:
        out: list[IncidentChange] = []
        while True:
            due = self.processor.next_deadline(self.state)
            if due is None or due > until:
                break
            out += self.processor.on_clock(self.state, due).changes
        self.clock_ms = max(self.clock_ms, until)
        self.changes += out
        return out

    # --- sending -----------------------------------------------------------------------

    def send(self, topic: str, event: dict[str, Any], arrive: float | None = None) -> list[IncidentChange]:
        """Process `event`; the clock first runs to its arrival (default: its own ts)."""
        arrival = self.ts(arrive) if arrive is not None else event["ts"]
        before = self._clock_to(max(self.clock_ms, arrival))
        decoded = decode_event(topic, orjson.dumps(event), LIMITS, now_ms=event["ts"])
        out = self.processor.on_event(self.state, decoded).changes
        self.changes += out
        return before + out

    def trip(self, kind: str, at: float, **fields: Any) -> list[IncidentChange]:
        arrive = fields.pop("arrive", None)
        event_id = fields.pop("event_id", None)
        self._n += 1
        event = {
            "event_id": event_id or f"{self.order_id}-{kind}-{self._n}",
            "type": kind,
            "order_id": self.order_id,
            "ts": self.ts(at),
            "city": "berlin",
            **fields,
        }
        return self.send(names.TRIP_EVENTS, event, arrive)

    def created(self, at: float = 0, promised: float = 300) -> list[IncidentChange]:
        return self.trip(
            "order.created",
            at,
            passenger_id="p-1",
            promised_pickup_ts=self.ts(promised),
            pickup={"lat": PICKUP[0], "lon": PICKUP[1]},
            dropoff={"lat": DROPOFF[0], "lon": DROPOFF[1]},
        )

    def assigned(self, at: float = 1, driver: str = "d-1") -> list[IncidentChange]:
        return self.trip(
            "driver.assigned",
            at,
            driver={"id": driver, "name": "Jonas", "plate": "B-1"},
            eta_pickup_ts=self.ts(at + 120),
        )

    def started(self, at: float = 10, eta: float = 900, route: list | None = None) -> list[IncidentChange]:
        return self.trip("trip.started", at, eta_dropoff_ts=self.ts(eta), route=route or ROUTE)

    def begin(self) -> None:
        """Created, assigned, arrived, started at 10 s with drop-off ETA at 900 s."""
        self.created()
        self.assigned()
        self.trip("driver.arrived", 8)
        self.started()

    def ping(
        self,
        at: float,
        point: tuple[float, float],
        speed: float = 40.0,
        accuracy: float | None = 5.0,
        arrive: float | None = None,
        event_id: str | None = None,
        heading: float | None = None,
    ) -> list[IncidentChange]:
        event: dict[str, Any] = {
            "order_id": self.order_id,
            "driver_id": "d-1",
            "ts": self.ts(at),
            "lat": point[0],
            "lon": point[1],
            "speed_kmh": speed,
        }
        if accuracy is not None:
            event["accuracy_m"] = accuracy
        if event_id is not None:
            event["event_id"] = event_id
        if heading is not None:
            event["heading_deg"] = heading
        return self.send(names.TELEMETRY, event, arrive)

    def drive(
        self,
        start: float,
        end: float,
        every: float = 3.0,
        x0: float = 0.0,
        x1: float = 1.0,
        speed: float = 40.0,
    ) -> list[IncidentChange]:
        """Pings along the route from fraction x0 at `start` to x1 at `end`."""
        out: list[IncidentChange] = []
        t = start
        while t <= end + 1e-9:
            x = x0 + (x1 - x0) * (t - start) / max(end - start, 1e-9)
            out += self.ping(t, on_route(x), speed)
            t += every
        return out

    def payment(self, kind: str, at: float, payment_id: str = "pay-1", **fields: Any) -> list[IncidentChange]:
        arrive = fields.pop("arrive", None)
        self._n += 1
        event = {
            "event_id": fields.pop("event_id", f"{self.order_id}-pay-{self._n}"),
            "type": kind,
            "order_id": self.order_id,
            "passenger_id": "p-1",
            "ts": self.ts(at),
            "payment_id": payment_id,
            "amount_minor": 1250,
            "currency": "EUR",
            **fields,
        }
        return self.send(names.PAYMENTS, event, arrive)

    def safety(self, kind: str, at: float, source: str = "passenger", **fields: Any) -> list[IncidentChange]:
        self._n += 1
        event = {
            "event_id": fields.pop("event_id", f"{self.order_id}-safety-{self._n}"),
            "type": kind,
            "order_id": self.order_id,
            "ts": self.ts(at),
            "source": source,
            **fields,
        }
        return self.send(names.SAFETY_SIGNALS, event)

    # --- reading -----------------------------------------------------------------------

    def opened(self, kind: str) -> list[IncidentChange]:
        return [c for c in self.changes if c.kind == kind and c.action == "open"]

    def resolved(self, kind: str) -> list[IncidentChange]:
        return [c for c in self.changes if c.kind == kind and c.action == "resolve"]

    def kinds_opened(self) -> set[str]:
        return {c.kind for c in self.changes if c.action == "open"}

    def is_open(self, kind: str) -> bool:
        return kind in self.state.open_incidents
