"""A rule's condition, exceptions and escalations, judged where every incident change passes."""

from __future__ import annotations

from datetime import UTC, datetime

from core.incidents import IncidentChange
from monitor.trip_state import TripState
from rules.context import PassengerCache
from rules.judge import judge
from rules.loader import load_rules

TEMPLATES = {"pickup_delay"}
RULES = """
timezones: {berlin: Europe/Berlin}
lists:
  watched_cities: [berlin, hamburg]
macros:
  night: time.hour >= 22 || time.hour < 5
rules:
  - id: pickup-delay
    kind: pickup_delay
    params: {grace_s: 60}
    when: trip.city in watched_cities
    severity: medium
    escalate:
      - {when: passenger.vip, severity: high}
      - {when: night && passenger.vip, severity: critical}
    exceptions:
      - {name: trusted driver, when: 'trip.driver_id == "d-trusted"'}
"""


def at(hour: int) -> int:
    """10 Jan 2026 at `hour`:00 Berlin time (UTC+1), in ms."""
    return int(datetime(2026, 1, 10, hour - 1, 0, tzinfo=UTC).timestamp() * 1000)


def trip(order_id: str, hour: int, city: str, passenger: str = "p-1", driver: str = "d-1") -> TripState:
    return TripState(
        order_id=order_id,
        partition=0,
        city=city,
        passenger_id=passenger,
        promised_pickup_ts=at(hour),
        driver={"id": driver, "name": "D", "plate": "B-1"},
    )


def change(state: TripState, hour: int, **details: object) -> IncidentChange:
    return IncidentChange(
        action="open",
        kind="pickup_delay",
        order_id=state.order_id,
        rule_id="pickup-delay",
        rule_version="as-the-detector-saw-it",
        severity="medium",
        trigger_ts=at(hour) + 60_000,
        details={"trigger": "deadline", **details},
    )


def judged(
    state: TripState, hour: int, vip: tuple[str, ...] = (), **details: object
) -> IncidentChange | None:
    passengers = PassengerCache()
    for passenger_id in vip:
        passengers.put(passenger_id, {"name": "V", "locale": "en", "vip": True})
    return judge(RULE_SET, state, change(state, hour, **details), passengers)


RULE_SET = load_rules({"r.yaml": RULES}, templates=TEMPLATES)


def test_condition_false_means_no_incident():
    assert judged(trip("o-paris", 12, "paris"), 12) is None


def test_condition_true_opens_with_base_severity_and_the_rule_version():
    result = judged(trip("o-berlin", 12, "berlin"), 12)
    assert result is not None and result.severity == "medium"
    assert result.rule_version == RULE_SET.by_id("pickup-delay").version != "as-the-detector-saw-it"


def test_escalations_raise_severity_by_passenger_and_local_hour():
    day = judged(trip("o-day", 12, "berlin", "p-vip"), 12, vip=("p-vip",))
    night = judged(trip("o-night", 23, "berlin", "p-vip"), 23, vip=("p-vip",))
    plain_night = judged(trip("o-plain", 23, "berlin"), 23, vip=("p-vip",))
    assert (day.severity, night.severity, plain_night.severity) == ("high", "critical", "medium")


def test_an_exception_keeps_the_rule_quiet():
    assert judged(trip("o-trusted", 12, "berlin", driver="d-trusted"), 12) is None
    assert judged(trip("o-other", 12, "berlin", driver="d-other"), 12) is not None


def test_event_fields_come_from_the_details_and_resolves_pass_untouched():
    rules = load_rules(
        {"r.yaml": "rules:\n  - id: pickup-delay\n    kind: pickup_delay\n    when: event.overrun_s > 600\n"},
        templates=TEMPLATES,
    )
    state = trip("o-eta", 12, "berlin")
    assert judge(rules, state, change(state, 12, overrun_s=300)) is None
    assert judge(rules, state, change(state, 12, overrun_s=900)) is not None
    resolve = IncidentChange(action="resolve", kind="pickup_delay", order_id="o-eta", rule_id="pickup-delay")
    assert judge(rules, state, resolve) is resolve


def test_a_condition_failing_at_run_time_counts_as_false_and_is_counted():
    # passes the type check and the load-time trial (`&&` short-circuits on the typical city "")
    text = (
        "rules:\n  - id: pickup-delay\n    kind: pickup_delay\n"
        '    when: trip.city == "berlin" && int(trip.order_id) > 5\n'
    )
    rules = load_rules({"r.yaml": text}, templates=TEMPLATES)
    counted: list[str] = []
    state = trip("o-not-a-number", 12, "berlin")
    assert judge(rules, state, change(state, 12), on_failure=counted.append) is None
    assert rules.failures == {"pickup-delay": 1} and counted == ["pickup-delay"]
    numeric = trip("42", 12, "berlin")
    assert judge(rules, numeric, change(numeric, 12), on_failure=counted.append) is not None
    assert rules.failures == {"pickup-delay": 1}
