"""What the simulator generates: how many trips, which cases at which rates, how big.

Every trip is one *case*: an incident kind of the catalogue (injected, with a ground-truth
label), a hard negative (something that looks alarming but must raise nothing), or a
normal trip. Magnitudes are chosen clearly beyond the built-in rule pack's thresholds
(`rules/pack/*.yaml`), and the negatives clearly within them; see `docs/scenarios.md`.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

# The kinds the simulator has a case for (tools/simulator/cases.py), in the catalogue's order
# (the order the seeded draws are made in); a kind without a case is not simulated.
INCIDENT_KINDS: tuple[str, ...] = (
    "pickup_delay",
    "trip_delay",
    "driver_cancellation",
    "system_cancellation",
    "route_deviation",
    "payment_failure",
    "double_charge",
    "sos",
    "crash_suspected",
    "long_stop",
    "signal_lost",
    "early_end",
)
NEGATIVES = (
    "traffic_jam",  # a slow crawl with short stops along the planned route
    "reroute",  # an accepted trip.rerouted, then the car follows the new route
    "gps_jitter",  # noisy, inaccurate positions near the route, one far outlier
    "red_light",  # a long red light on the route
    "payment_retry_ok",  # a failed payment retried with success within seconds
    "late_events",  # many events late and out of order, within a few seconds
    "passenger_cancel",  # the passenger cancels before pickup
    "duplicate_events",  # every event delivered twice (captures included)
    "tunnel",  # telemetry silent for a short while
)
CASES = INCIDENT_KINDS + NEGATIVES
DEFAULT_RATE = 0.04


class ConfigError(ValueError):
    """A simulator setting is unknown or out of range; the message names it."""


Range = tuple[float, float]


@dataclass(frozen=True)
class Timing:
    """How a normal trip unfolds (seconds, metres, km/h)."""

    ping_interval_s: Range = (3.0, 5.0)
    pickup_lead_s: Range = (60.0, 120.0)  # order.created -> promised pickup
    assign_after_s: Range = (2.0, 8.0)  # order.created -> driver.assigned
    early_arrival_s: Range = (3.0, 25.0)  # the driver arrives this much before the promise
    boarding_s: Range = (10.0, 30.0)  # driver.arrived -> trip.started
    ride_m: Range = (1000.0, 2500.0)
    cruise_kmh: Range = (30.0, 50.0)
    red_light_p: float = 0.4  # chance that a signalised crossing is red
    red_light_s: Range = (10.0, 40.0)
    gps_sigma_m: float = 4.0
    late_p: float = 0.02  # chance that any event arrives late ...
    late_s: Range = (0.5, 3.0)  # ... by this much
    duplicate_p: float = 0.01  # chance that any event is delivered twice


@dataclass(frozen=True)
class Magnitudes:
    """Size of each injected anomaly and of each hard negative."""

    pickup_late_s: float = 240.0  # no arrival; the passenger gives up this long after the promise
    pickup_eta_slip_s: float = 900.0  # an ETA this far past the promise
    trip_eta_slip_s: float = 1500.0  # drop-off ETA this far past the ETA at start
    detour_m: float = 1000.0  # how far the car leaves the planned route
    detour_hold_s: float = 45.0  # how long it drives out there before coming back
    crash_from_kmh: float = 75.0
    crash_stop_s: float = 40.0  # standstill after a crash, then it drives on slowly
    long_stop_s: float = 330.0  # stationary, pulled over beside the route
    long_stop_offset_m: float = 80.0  # how far beside the route it pulls over
    signal_gap_s: float = 200.0  # no telemetry for this long
    early_end_m: float = 1200.0  # completed this far (at least) from the drop-off
    payment_unresolved_s: float = 90.0  # a failed payment stays failed at least this long
    double_charge_gap_s: Range = (2.0, 30.0)
    # hard negatives
    jam_kmh: Range = (8.0, 15.0)
    jam_s: Range = (120.0, 240.0)
    jam_eta_slip_s: float = 90.0
    red_light_long_s: Range = (60.0, 90.0)
    jitter_sigma_m: float = 20.0
    outlier_m: float = 120.0
    outlier_accuracy_m: float = 150.0
    retry_after_s: Range = (2.0, 8.0)
    tunnel_s: Range = (15.0, 30.0)
    late_events_s: Range = (1.0, 5.0)


@dataclass(frozen=True)
class SimConfig:
    trips: int = 100
    seed: int = 1
    window_s: float = 240.0  # trips start spread evenly over this window
    city: str = "berlin"
    order_prefix: str = "sim"
    rates: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CASES, DEFAULT_RATE))
    timing: Timing = Timing()
    magnitudes: Magnitudes = Magnitudes()

    def with_rates(self, rates: dict[str, float], replace_all: bool = False) -> SimConfig:
        merged = dict(rates) if replace_all else {**self.rates, **rates}
        checked = check_rates(merged)
        return replace(self, rates=checked)


def check_rates(rates: dict[str, float]) -> dict[str, float]:
    for name, value in rates.items():
        if name not in CASES:
            raise ConfigError(f"rates.{name}: unknown case; known: {', '.join(CASES)}")
        if not 0 <= value <= 1:
            raise ConfigError(f"rates.{name}: must be between 0 and 1 (got {value})")
    total = sum(rates.values())
    if total > 1 + 1e-9:
        raise ConfigError(f"rates: add up to {total:.3f}; each trip is one case, so at most 1")
    return rates


def parse_rates(text: str) -> dict[str, float]:
    """`kind=p,kind=p`; `incidents=p` and `negatives=p` set a whole group."""
    rates: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"rates: {item!r} is not name=probability")
        try:
            probability = float(value)
        except ValueError:
            raise ConfigError(f"rates.{name}: {value!r} is not a number") from None
        group = {"incidents": INCIDENT_KINDS, "negatives": NEGATIVES}.get(name.strip(), (name.strip(),))
        rates.update(dict.fromkeys(group, probability))
    return rates


def load_config(path: Path) -> SimConfig:
    """A JSON or TOML file with the fields of `SimConfig` (timing and magnitudes as tables)."""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None
    return config_from_dict(data, str(path))


def config_from_dict(data: dict[str, Any], where: str = "config") -> SimConfig:
    data = dict(data)
    timing = _section(Timing, data.pop("timing", {}), f"{where}: timing")
    magnitudes = _section(Magnitudes, data.pop("magnitudes", {}), f"{where}: magnitudes")
    rates = data.pop("rates", None)
    config = _section(SimConfig, data, where)
    config = replace(config, timing=timing, magnitudes=magnitudes)
    return config.with_rates(rates, replace_all=True) if rates is not None else config


def _section(cls: Any, values: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    for name in values:
        if name not in known:
            raise ConfigError(f"{where}.{name}: unknown setting; known: {', '.join(known)}")
    converted = {name: tuple(v) if isinstance(v, list) else v for name, v in values.items()}
    return cls(**converted)


def describe(config: SimConfig) -> dict[str, Any]:
    return asdict(config)
