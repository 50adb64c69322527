"""What a rule's condition sees: the trip, the triggering event, the passenger and local time.

Built only when a detector asks to open an incident (not on every ping). The `event`
object is filled from the incident change: `type` is the detector's trigger, `ts` the
trigger time, and every other field of `conditions.FIELDS["event"]` is read from the
change's `details` under the same name (a detector that measures a distance puts it in
`details["distance_m"]`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core import geo
from rules.conditions import FIELDS
from rules.zones import zones_of

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PassengerCache:
    """The latest passenger records a worker has seen, bounded (oldest forgotten first)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._records: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def put(self, passenger_id: str, record: dict[str, Any]) -> None:
        self._records[passenger_id] = record
        self._records.move_to_end(passenger_id)
        while len(self._records) > self.capacity:
            self._records.popitem(last=False)

    def get(self, passenger_id: str | None) -> dict[str, Any] | None:
        return self._records.get(passenger_id) if passenger_id else None

    def __contains__(self, passenger_id: object) -> bool:
        return passenger_id in self._records


def build_context(
    state: Any,
    change: Any,
    passenger: dict[str, Any] | None,
    timezones: dict[str, str],
    zones: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The condition context for one incident change on one trip (duck-typed on both)."""
    return {
        "trip": _trip(state, zones or {}),
        "event": _event(change),
        "passenger": _passenger(state, passenger),
        "time": local_time(change.trigger_ts, timezones.get(state.city or "", "UTC")),
        "incident": {"kind": change.kind, "severity": change.severity, "rule_id": change.rule_id},
    }


def local_time(ts_ms: int, zone: str) -> dict[str, Any]:
    moment = datetime.fromtimestamp(ts_ms / 1000, zone_info(zone))
    return {
        "hour": moment.hour,
        "minute": moment.minute,
        "weekday": moment.isoweekday(),
        "day": DAYS[moment.weekday()],
        "local": moment.strftime("%H:%M"),
        "timezone": zone,
    }


@lru_cache(maxsize=256)
def zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _trip(state: Any, zones: Mapping[str, Any]) -> dict[str, Any]:
    driver = getattr(state, "driver", None) or {}
    pickup, dropoff = getattr(state, "pickup", None), getattr(state, "dropoff", None)
    return {
        "order_id": state.order_id,
        "city": state.city or "",
        "passenger_id": state.passenger_id or "",
        "driver_id": str(driver.get("id", "")),
        "promised_pickup_ts": state.promised_pickup_ts or 0,
        "eta_pickup_ts": state.eta_pickup_ts or 0,
        "assigned": bool(driver),
        "arrived": state.arrived_ts is not None,
        "started": state.started_ts is not None,
        "ended": state.ended_ts is not None,
        "distance_m": _distance(pickup, dropoff),
        "speed_kmh": float(pings[-1].speed_kmh) if (pings := getattr(state, "pings", None)) else 0.0,
        "pickup_address": getattr(state, "pickup_address", None) or "",
        "dropoff_address": getattr(state, "dropoff_address", None) or "",
        "pickup_zones": zones_of(pickup, zones),
        "dropoff_zones": zones_of(dropoff, zones),
        "account_type": getattr(state, "account_type", None) or "",
        "payment_method": getattr(state, "payment_method", None) or "",
    }


def _distance(a: Any, b: Any) -> float:
    return geo.distance_m(a, b) if a and b else 0.0


def _event(change: Any) -> dict[str, Any]:
    details = change.details or {}
    event = dict(FIELDS["event"])
    for name, default in FIELDS["event"].items():
        value = details.get(name)
        if value is not None:
            event[name] = _as(default, value)
    event["type"] = str(details.get("trigger", change.kind))
    event["ts"] = change.trigger_ts
    return event


def _passenger(state: Any, record: dict[str, Any] | None) -> dict[str, Any]:
    record = record or {}
    return {
        "id": state.passenger_id or "",
        "name": str(record.get("name") or ""),
        "locale": str(record.get("locale") or ""),
        "vip": bool(record.get("vip")),
    }


def _as(default: Any, value: Any) -> Any:
    """`value` converted to the field's type (CEL does not mix ints and doubles in arithmetic)."""
    try:
        return type(default)(value)
    except (TypeError, ValueError):
        return default
