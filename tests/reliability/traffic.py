"""Deterministic traffic for fault tests: scripted trips at real pace, each labelled with the
incidents the rules of `rules/rules.yaml` must raise for it.

A trip's events carry the wall-clock time they are sent as `ts`; a `Mirror` sends each one,
with the same bytes, to every stack, so a fault-free stack sees exactly the same input.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from core import names
from tests.monitor.trips import DROPOFF, PICKUP, ROUTE, off_route, on_route
from tests.reliability.harness import Mirror, Sent, now_ms

PING_EVERY_S = 1.0


@dataclass
class Trip:
    """One order's events, sent through `mirror`."""

    mirror: Mirror
    order_id: str
    sent: list[Sent] = field(default_factory=list)
    n: int = 0

    async def trip(self, kind: str, **fields: Any) -> int:
        self.n += 1
        ts = now_ms()
        event = {"event_id": f"{self.order_id}-{self.n}", "type": kind, "order_id": self.order_id, "ts": ts,
                 "city": "berlin", **fields}  # fmt: skip
        self.sent += await self.mirror.send(names.TRIP_EVENTS, self.order_id, event)
        return ts

    async def created(self, promised_in_s: float = 600) -> None:
        await self.trip(
            "order.created", passenger_id=f"p-{self.order_id}", promised_pickup_ts=now_ms() + int(promised_in_s * 1000),
            pickup={"lat": PICKUP[0], "lon": PICKUP[1]}, dropoff={"lat": DROPOFF[0], "lon": DROPOFF[1]},
        )  # fmt: skip

    async def assigned(self) -> None:
        await self.trip("driver.assigned", driver={"id": "d-1", "name": "Jonas", "plate": "B-TW 1"},
                        eta_pickup_ts=now_ms() + 120_000)  # fmt: skip

    async def begin(self) -> None:
        await self.created()
        await self.assigned()
        await self.trip("driver.arrived")
        await self.trip("trip.started", eta_dropoff_ts=now_ms() + 600_000, route=ROUTE)

    async def ping(self, point: tuple[float, float], speed: float = 40.0) -> int:
        ts = now_ms()
        event = {"event_id": f"{self.order_id}-ping-{ts}", "order_id": self.order_id, "driver_id": "d-1", "ts": ts,
                 "lat": point[0], "lon": point[1], "speed_kmh": speed, "accuracy_m": 5.0}  # fmt: skip
        self.sent += await self.mirror.send(names.TELEMETRY, self.order_id, event)
        return ts

    async def drive(self, seconds: float, x0: float, x1: float) -> None:
        """Pings every PING_EVERY_S along the route from fraction x0 to x1 (both included)."""
        steps = max(1, round(seconds / PING_EVERY_S))
        for step in range(steps + 1):
            await self.ping(on_route(x0 + (x1 - x0) * step / steps))
            if step < steps:
                await asyncio.sleep(PING_EVERY_S)

    async def stand(self, seconds: float, point: tuple[float, float]) -> None:
        for _ in range(max(1, round(seconds / PING_EVERY_S))):
            await self.ping(point, speed=0.0)
            await asyncio.sleep(PING_EVERY_S)

    async def complete(self) -> None:
        await self.ping(on_route(1.0), speed=5.0)
        await self.trip("trip.completed", fare={"amount_minor": 1250, "currency": "EUR"})

    async def sos(self) -> int:
        self.n += 1
        ts = now_ms()
        event = {"event_id": f"{self.order_id}-sos-{self.n}", "type": "sos.pressed", "order_id": self.order_id,
                 "ts": ts, "source": "passenger"}  # fmt: skip
        self.sent += await self.mirror.send(names.SAFETY_SIGNALS, self.order_id, event)
        return ts

    async def payment_failed(self) -> None:
        self.n += 1
        event = {"event_id": f"{self.order_id}-pay-{self.n}", "type": "payment.failed", "order_id": self.order_id,
                 "passenger_id": f"p-{self.order_id}", "ts": now_ms(), "payment_id": "pay-1",
                 "amount_minor": 1250, "currency": "EUR", "code": "card_declined", "attempt": 1}  # fmt: skip
        self.sent += await self.mirror.send(names.PAYMENTS, self.order_id, event)


# --- the scripts: (label, duration) and what each trip does ---------------------------------------


async def normal(t: Trip, length_s: float) -> None:
    await t.begin()
    await t.drive(length_s, 0.0, 1.0)
    await t.complete()


async def sos(t: Trip, length_s: float) -> None:
    await t.begin()
    await t.drive(2, 0.0, 0.2)
    await t.sos()
    await t.drive(max(1.0, length_s - 2), 0.2, 1.0)
    await t.complete()


async def late_pickup(t: Trip, _length_s: float) -> None:
    await t.created(promised_in_s=-60)
    await t.assigned()


async def driver_cancellation(t: Trip, _length_s: float) -> None:
    await t.created()
    await t.assigned()
    await asyncio.sleep(1)
    await t.trip("order.cancelled", cancelled_by="driver", reason="car trouble")


async def payment_failure(t: Trip, _length_s: float) -> None:
    await t.created()
    await t.payment_failed()


async def signal_lost(t: Trip, _length_s: float) -> None:
    """Drives for 3 s, then not a single ping more: due 10 s after the last one."""
    await t.begin()
    await t.drive(3, 0.0, 0.1)


async def long_stop(t: Trip, length_s: float) -> None:
    """Stands still 100 m off the route for 8 s (the rule says 4 s), then drives on to the drop-off."""
    await t.begin()
    await t.drive(2, 0.0, 0.3)
    await t.stand(8, off_route(0.3, 100))
    await t.drive(max(1.0, length_s - 10), 0.3, 1.0)
    await t.complete()


Script = Callable[[Trip, float], Awaitable[None]]
LABELS: dict[str, str | None] = {
    "normal": None,
    "sos": "sos",
    "late": "pickup_delay",
    "cancel": "driver_cancellation",
    "payfail": "payment_failure",
    "lost": "signal_lost",
    "stop": "long_stop",
}
SCRIPTS: dict[str, Script] = {
    "normal": normal,
    "sos": sos,
    "late": late_pickup,
    "cancel": driver_cancellation,
    "payfail": payment_failure,
    "lost": signal_lost,
    "stop": long_stop,
}


@dataclass(frozen=True)
class Planned:
    kind: str  # a key of SCRIPTS
    start_s: float  # after the scenario starts
    length_s: float = 10.0


def steady_mix(span_s: float = 30.0) -> list[Planned]:
    """40 trips started over `span_s`: 16 normal, 8 SOS, 4 late pickups, 3 driver cancellations,
    3 payment failures, 3 trips that go silent and 3 long stops, spread so that every kind
    also starts around a third of the way (when the worker is killed) and during the outage."""
    plan = []
    kinds = ["normal", "sos", "normal", "late", "normal", "stop", "sos", "cancel", "normal", "lost",
             "payfail", "normal", "sos", "normal"]  # fmt: skip
    counts = {"normal": 16, "sos": 8, "late": 4, "cancel": 3, "payfail": 3, "lost": 3, "stop": 3}
    queue = [k for _ in range(4) for k in kinds]
    chosen: list[str] = []
    for kind in queue:
        if chosen.count(kind) < counts[kind]:
            chosen.append(kind)
    for kind, left in counts.items():
        chosen += [kind] * (left - chosen.count(kind))
    last_start = span_s - 14.0  # the longest script (a long stop) ends before the span does
    for n, kind in enumerate(chosen):
        plan.append(Planned(kind, last_start * n / (len(chosen) - 1), length_s=10.0 + (n % 4)))
    return plan


async def run(mirror: Mirror, run_id: str, plan: list[Planned]) -> dict[str, str]:
    """Play `plan` at real pace; order id -> its script's name."""
    trips = {f"{run_id}-{n:02d}-{p.kind}": p for n, p in enumerate(plan)}
    t0 = asyncio.get_running_loop().time()

    async def play(order_id: str, planned: Planned) -> None:
        await asyncio.sleep(max(0.0, t0 + planned.start_s - asyncio.get_running_loop().time()))
        await SCRIPTS[planned.kind](Trip(mirror, order_id), planned.length_s)

    await asyncio.gather(*(play(order_id, p) for order_id, p in trips.items()))
    return {order_id: p.kind for order_id, p in trips.items()}


def expected(trips: dict[str, str]) -> set[tuple[str, str]]:
    return {(order_id, label) for order_id, kind in trips.items() if (label := LABELS[kind]) is not None}
