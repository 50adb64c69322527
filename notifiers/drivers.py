"""Driver outreach: the handbooks ask support to look after drivers too.

- **Safety check-in**: when an SOS, a suspected crash or a long stop opens, the trip's current
  driver gets a push ("Are you safe?"), as the passenger gets their check-in: critical, at once,
  exempt from budgets, held for page first like the passenger's.
- **No-show**: when the driver cancels with `reason: no_show` after `driver.arrived` (the
  `driver_cancellation` incident), that driver is told support knows, so they need not call in.
  It counts against the driver's own budget (`budget.keys("driver:<id>", …)`, same limits).

The driver is reached by `driver.push_token` in `driver.assigned` (an optional field beyond the
contract's; `driver.locale` picks the language, else English). A driver without a token gets
nothing, and the case says so. Each driver hears once per incident and template: the message
id `<incident_id>:driver:<driver_id>:<step>` is the outbox's idempotency key, so a revision of the
same incident (or a replay) never queues a second copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.models import Passenger
from notifiers.model import IncidentView
from notifiers.trip_facts import TripFacts

CHECKIN_KINDS = frozenset({"sos", "crash_suspected", "long_stop"})
NO_SHOW_KIND = "driver_cancellation"
TEMPLATES = ("driver_checkin", "driver_no_show")  # what the driver reads (docs/messages.md)


@dataclass(frozen=True)
class DriverMessage:
    step: str  # the outbox step: "driver-checkin" or "driver-no-show"
    template: str
    driver: dict[str, Any]

    @property
    def safety(self) -> bool:
        return self.step == "driver-checkin"

    def message_id(self, incident_id: str) -> str:
        return f"{incident_id}:driver:{self.driver.get('id', '')}:{self.step}"

    def recipient(self) -> Passenger:
        """The driver in the shape the templates and the planner know (a push-only contact)."""
        return Passenger(
            passenger_id=f"driver:{self.driver.get('id', '')}",
            name=str(self.driver.get("name") or ""),
            locale=str(self.driver.get("locale") or "en"),
            push_token=self.driver.get("push_token") or None,
            channels=["push"],
        )


def wanted(incident: IncidentView) -> bool:
    """Could this incident speak to a driver? (Only then is the trip log read for it.)"""
    return incident.is_open and incident.kind in CHECKIN_KINDS | {NO_SHOW_KIND}


def driver_message(incident: IncidentView, trip: TripFacts | None) -> DriverMessage | None:
    """What this open incident asks to tell a driver, from the trip as it stands."""
    if trip is None or not incident.is_open:
        return None
    if incident.kind in CHECKIN_KINDS and trip.driver:
        return DriverMessage("driver-checkin", "driver_checkin", trip.driver)
    if incident.kind == NO_SHOW_KIND and trip.no_show_driver:
        return DriverMessage("driver-no-show", "driver_no_show", trip.no_show_driver)
    return None
