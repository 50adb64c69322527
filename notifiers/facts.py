"""The facts a message gives the passenger, taken from an incident and clipped to fit an SMS."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from monitor.models import Passenger
from notifiers.model import IncidentView

CLIP = {"name": 12, "driver": 14, "plate": 10, "car": 16}
ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP", "ISK", "HUF"}


def clip(value: Any, limit: int) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "."


def first_word(value: Any) -> str:
    words = str(value or "").split()
    return words[0] if words else ""


def money(amount_minor: int, currency: str) -> str:
    currency = currency.upper()
    if currency in ZERO_DECIMAL:
        return f"{amount_minor} {currency}"
    return f"{amount_minor / 100:.2f} {currency}"


def facts(incident: IncidentView) -> dict[str, Any]:
    """What the passenger would be told, independent of the clock (a change here is news)."""
    details = incident.details
    driver = details.get("driver") if isinstance(details.get("driver"), dict) else {}
    eta_ts = _eta_ts(details)
    amount = _amount(details)
    return {
        "severity": incident.severity,
        "driver": clip(first_word(driver.get("name")), CLIP["driver"]),
        "plate": clip(driver.get("plate"), CLIP["plate"]),
        "car": clip(driver.get("car"), CLIP["car"]),
        "eta_minute": eta_ts // 60_000 if eta_ts is not None else None,
        "amount": amount,
    }


def fingerprint(incident: IncidentView) -> str:
    canonical = json.dumps(facts(incident), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def context(incident: IncidentView, passenger: Passenger | None, now_ms: int) -> dict[str, Any]:
    """Template variables: the facts, the passenger's first name, minutes until the ETA."""
    known = facts(incident)
    known.pop("eta_minute")
    eta_ts = _eta_ts(incident.details)
    eta_min = max(1, round((eta_ts - now_ms) / 60_000)) if eta_ts and eta_ts > now_ms else None
    return {
        **known,
        "name": clip(first_word(passenger.name if passenger else ""), CLIP["name"]),
        "eta_min": eta_min,
        "kind": incident.kind,
        "resolution": incident.resolution or "",
    }


def _amount(details: dict[str, Any]) -> str:
    for source in (details, details.get("payment"), details.get("fare")):
        if isinstance(source, dict) and isinstance(source.get("amount_minor"), int):
            return money(source["amount_minor"], str(source.get("currency", "")))
    return ""


def _eta_ts(details: dict[str, Any]) -> int | None:
    for name in ("eta_pickup_ts", "eta_dropoff_ts", "eta_ts"):
        value = details.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None
