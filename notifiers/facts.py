"""The facts a message gives the passenger: the trip as it stands now, fitted to an SMS.

`facts(incident)` is what the conversation compares to know whether there is news;
`context(...)` is what a template is rendered with: the trip's current facts (from the trip
log, `trip_facts.py`) where the log knows the order, else the incident's own details.

Values are shortened only at word boundaries (a space, or a hyphen inside a name) and never
get an ending mark: a first name longer than its limit with no boundary to cut at is left
out (the template then greets with "Hello"), a plate that does not fit is left out whole,
since a part of a plate is a wrong plate.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from core.checkin import HELP
from core.models import Passenger
from core.money import money
from notifiers.model import IncidentView
from notifiers.trip_facts import TripFacts, ending

CLIP = {"name": 16, "driver": 16, "plate": 12, "car": 20}
NAME_BREAKS = " -"  # a double name is cut after one of its parts
CAR_BREAKS = " "  # "Mercedes-Benz E-Class" is cut only between words
TRAILING = " -.,;:·"


def clip(value: Any, limit: int, breaks: str = NAME_BREAKS) -> str:
    """`value` whole if it fits, else its longest start that ends at a break; never mid-word."""
    text = " ".join(str(value or "").split())
    if len(text) <= limit:
        return text
    cut = ""
    for match in re.finditer("[" + re.escape(breaks) + "]", text) if breaks else ():
        if match.start() > limit:
            break
        cut = text[: match.start()]
    return cut.rstrip(TRAILING)


def first_word(value: Any) -> str:
    words = str(value or "").split()
    return words[0] if words else ""


def facts(incident: IncidentView) -> dict[str, Any]:
    """What the passenger would be told, independent of the clock (a change here is news)."""
    details = incident.details
    eta_ts = _eta_ts(details)
    return {
        "severity": incident.severity,
        **_driver_facts(_driver(details)),
        "eta_minute": eta_ts // 60_000 if eta_ts is not None else None,
        "amount": _amount(details),
    }


def fingerprint(incident: IncidentView) -> str:
    canonical = json.dumps(facts(incident), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def context(
    incident: IncidentView,
    passenger: Passenger | None,
    now_ms: int,
    trip: TripFacts | None = None,
    refund: bool = False,
) -> dict[str, Any]:
    """Template variables, from the trip as it stands at `now_ms` (see docs/outreach.md)."""
    known = facts(incident)
    known.pop("eta_minute")
    eta_ts = _eta_ts(incident.details)
    if trip is not None and trip.known:
        known.update(_driver_facts(trip.driver or {}))
        eta_ts = trip.eta_dropoff_ts if trip.arrived else trip.eta_pickup_ts
    eta_min = max(1, round((eta_ts - now_ms) / 60_000)) if eta_ts and eta_ts > now_ms else None
    return {
        **known,
        "name": clip(first_word(passenger.name if passenger else ""), CLIP["name"]),
        "amount": _amount(incident.details, (passenger.locale if passenger else None) or "en"),
        "eta_min": eta_min,
        "kind": incident.kind,
        "resolution": incident.resolution or "",
        "ending": "" if incident.is_open else ending(incident.resolution, trip or TripFacts()),
        "refund": refund,
        # a long_stop the passenger asked for, answering the stop check-in: no second "are you OK?"
        "asked_help": incident.details.get("escalation_reason") == HELP,
    }


def _driver(details: dict[str, Any]) -> dict[str, Any]:
    driver = details.get("driver")
    return driver if isinstance(driver, dict) else {}


def _driver_facts(driver: dict[str, Any]) -> dict[str, str]:
    return {
        "driver": clip(first_word(driver.get("name")), CLIP["driver"]),
        "plate": clip(driver.get("plate"), CLIP["plate"], breaks=""),
        "car": clip(driver.get("car"), CLIP["car"], breaks=CAR_BREAKS),
    }


def _amount(details: dict[str, Any], locale: str = "en") -> str:
    for source in (details, details.get("payment"), details.get("fare")):
        if isinstance(source, dict) and isinstance(source.get("amount_minor"), int):
            return money(source["amount_minor"], str(source.get("currency", "")), locale)
    return ""


def _eta_ts(details: dict[str, Any]) -> int | None:
    for name in ("eta_pickup_ts", "eta_dropoff_ts", "eta_ts"):
        value = details.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None
