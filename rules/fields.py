"""The condition context, declared once: every object's fields with their types and domains.

This declaration is the single source of `conditions.FIELDS` (the unknown values), the
type checker's field types, the lint's domains, `tripwatch rules fields` and the table in
docs/rules.md (`fields_table`; a test keeps the docs equal to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TYPE_WORDS = {"string": "a string", "int": "a whole number", "double": "a number", "bool": "true or false"}
_UNKNOWN: dict[str, Any] = {"string": "", "int": 0, "double": 0.0, "bool": False, "list:string": ()}


@dataclass(frozen=True)
class Field:
    type: str  # string, int, double, bool or list:string
    about: str
    low: float | None = None  # the domain of a number: values outside can never be seen
    high: float | None = None
    values: tuple[str, ...] = ()  # the only values a string takes, when known
    lower_case: bool = False  # a string that always arrives in lower case
    unknown: Any = None  # its value when the fact is unknown (default: "", 0, 0.0, false)

    @property
    def unknown_value(self) -> Any:
        value = _UNKNOWN[self.type] if self.unknown is None else self.unknown
        return list(value) if isinstance(value, tuple) else value


def _s(about: str, **kw: Any) -> Field:
    return Field("string", about, **kw)


def _i(about: str, **kw: Any) -> Field:
    return Field("int", about, **kw)


def _d(about: str, **kw: Any) -> Field:
    return Field("double", about, **kw)


def _b(about: str) -> Field:
    return Field("bool", about)


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEVERITIES = ("critical", "high", "medium", "low")

CONTEXT: dict[str, dict[str, Field]] = {
    "trip": {
        "order_id": _s("the order's id"),
        "city": _s("the order's city, lower case (e.g. `berlin`)", lower_case=True),
        "passenger_id": _s("the passenger's id"),
        "driver_id": _s("the assigned driver's id"),
        "promised_pickup_ts": _i("promised pickup time, ms since the epoch", low=0),
        "eta_pickup_ts": _i("latest pickup ETA, ms since the epoch", low=0),
        "assigned": _b("a driver is assigned"),
        "arrived": _b("the driver has arrived at pickup"),
        "started": _b("the trip has started"),
        "ended": _b("the trip has ended"),
        "distance_m": _d("pickup to drop-off, straight line, metres", low=0),
        "speed_kmh": _d("speed at the latest GPS ping", low=0),
        "pickup_address": _s("pickup address, as the platform sends it (optional in the contract)"),
        "dropoff_address": _s("drop-off address, as the platform sends it (optional)"),
        "pickup_zones": Field("list:string", 'the set\'s `zones:` the pickup lies in, e.g. `["airport"]`'),
        "dropoff_zones": Field("list:string", "the set's `zones:` the drop-off lies in"),
        "account_type": _s("the order's account type, e.g. `personal`, `business` (optional)"),
        "payment_method": _s("the order's payment method, e.g. `card`, `cash`, `corporate` (optional)"),
    },
    # filled from the incident change's details (see rules.context): what the detector measured
    "event": {
        "type": _s("what triggered the detector (`deadline`, `eta_overrun`, `speed_drop`…; else the kind)"),
        "ts": _i("event time of the trigger, ms since the epoch", low=0),
        "amount_minor": _i("payment amount in minor units", low=0),
        "currency": _s("ISO currency of the payment"),
        "attempt": _i("payment attempt number", low=0),
        "failures": _i("payment failures so far", low=0),
        "code": _s("payment decline code"),
        "source": _s("safety signal source (`passenger`, `driver`, `sensor`)"),
        "signal": _s("safety signal type"),
        "reason": _s("cancellation reason"),
        "cancellations": _i("cancellations of the order so far", low=0),
        "distance_m": _d("metres off the route now", low=0),
        "max_distance_m": _d("metres off the route at most", low=0),
        "dropoff_m": _d("metres from the drop-off", low=0),
        "from_kmh": _d("a speed drop: speed before", low=0),
        "to_kmh": _d("a speed drop: speed after", low=0),
        "overrun_s": _d("seconds the pickup ETA is past the promise"),
        "slip_s": _d("seconds the drop-off ETA slipped"),
        "moving_away": _b("a route deviation heading away from the drop-off"),
        "night": _b("a route deviation at night"),
        "on_route": _b("a stop on the route"),
        "cars_near": _i("a stop check-in: other cars seen within 300 m in the last 2 min", low=0),
        "cars_held_up": _i("a stop check-in: of which at or below 15 km/h", low=0),
    },
    "passenger": {
        "id": _s("the passenger's id"),
        "name": _s("from the passengers directory"),
        "locale": _s("from the passengers directory, e.g. `de-DE`"),
        "vip": _b("a VIP passenger"),
    },
    "time": {
        "hour": _i("local hour of the trigger in the trip's city", low=0, high=23),
        "minute": _i("local minute of the trigger", low=0, high=59),
        "weekday": _i("1 = Monday … 7 = Sunday", low=1, high=7, unknown=1),
        "day": _s("`mon` … `sun`", values=DAYS, unknown="mon"),
        "local": _s('local time as `"HH:MM"`', unknown="00:00"),
        "timezone": _s("the zone used, e.g. `Europe/Berlin` (`UTC` for a city without one)", unknown="UTC"),
    },
    "incident": {
        "kind": _s("the kind the detector asks to open"),
        "severity": _s("its severity", values=SEVERITIES, unknown="medium"),
        "rule_id": _s("the rule's id"),
    },
}
# object -> field -> the value a field has when the fact is unknown (its type, too): `conditions.FIELDS`
UNKNOWN: dict[str, dict[str, Any]] = {
    obj: {name: spec.unknown_value for name, spec in fields.items()} for obj, fields in CONTEXT.items()
}


def declare_event_fields(fields: Mapping[str, Field]) -> None:
    """Fields a detector adds to `event` (read from its incident's details); a name already
    declared with another meaning is an error."""
    for name, spec in fields.items():
        known = CONTEXT["event"].setdefault(name, spec)
        if known != spec:
            raise ValueError(f"event.{name} is declared twice, differently")
        UNKNOWN["event"][name] = spec.unknown_value


def fields_table() -> str:
    """The markdown table of docs/rules.md: one row per field."""
    rows = ["| field | type | what it is | unknown |", "|---|---|---|---|"]
    for obj, fields in CONTEXT.items():
        for name, spec in fields.items():
            unknown = str(spec.unknown_value).lower() if spec.type == "bool" else repr(spec.unknown_value)
            unknown = "[]" if spec.type.startswith("list:") else unknown
            unknown = unknown.replace("'", '"')
            rows.append(f"| `{obj}.{name}` | {spec.type} | {spec.about}{_domain(spec)} | `{unknown}` |")
    return "\n".join(rows) + "\n"


def _domain(spec: Field) -> str:
    if spec.low is not None and spec.high is not None:
        return f" ({spec.low:g}–{spec.high:g})"
    if spec.values:
        return " (one of " + ", ".join(f"`{v}`" for v in spec.values) + ")"
    return ""
