"""Richer context: zones as polygons with in_zone(), addresses, account type and payment method."""

from __future__ import annotations

import msgspec
import pytest

from core import models
from core.incidents import IncidentChange
from monitor.trip_state import TripState, apply_trip_event
from rules.judge import judge
from rules.loader import RuleError, load_rules
from rules.zones import contains

TEMPLATES = {"pickup_delay"}
# a square around BER airport, [lat, lon] corners
ZONES = "zones:\n  airport: [[52.35, 13.47], [52.35, 13.53], [52.39, 13.53], [52.39, 13.47]]\n"


def rules(when: str) -> str:
    return ZONES + f"rules:\n  - id: pickup-delay\n    kind: pickup_delay\n    when: {when}\n"


def created(pickup_lat: float, pickup_lon: float, **extra: object) -> TripState:
    event = {
        "event_id": "e-1", "type": "order.created", "order_id": "o-1", "ts": 1_000, "city": "berlin",
        "passenger_id": "p-1", "promised_pickup_ts": 60_000,
        "pickup": {"lat": pickup_lat, "lon": pickup_lon, "address": "Willy-Brandt-Platz, BER"},
        "dropoff": {"lat": 52.52, "lon": 13.40, "address": "Alexanderplatz 1"}, **extra,
    }  # fmt: skip
    state = TripState(order_id="o-1", partition=0)
    apply_trip_event(state, msgspec.json.decode(msgspec.json.encode(event), type=models.AnyTripEvent))
    return state


def opened(rule_text: str, state: TripState) -> bool:
    change = IncidentChange(action="open", kind="pickup_delay", order_id="o-1", rule_id="pickup-delay",
                            trigger_ts=120_000)  # fmt: skip
    return judge(load_rules({"r.yaml": rule_text}, TEMPLATES), state, change) is not None


def test_in_zone_is_true_when_the_pickup_or_drop_off_lies_in_it():
    at_airport, in_town = created(52.37, 13.50), created(52.50, 13.35)
    assert opened(rules('in_zone("airport")'), at_airport)
    assert not opened(rules('in_zone("airport")'), in_town)
    assert opened(rules("'\"airport\" in trip.pickup_zones && trip.dropoff_zones == []'"), at_airport)
    assert contains([[0, 0], [0, 1], [1, 1], [1, 0]], (0.5, 0.5)) and not contains(
        [[0, 0], [0, 1], [1, 1]], (0.9, 0.1)
    )


def test_addresses_account_type_and_payment_method_reach_conditions():
    state = created(52.50, 13.35, account_type="business", payment_method="corporate")
    when = 'trip.account_type == "business" && trip.payment_method == "corporate" && trip.dropoff_address.startsWith("Alex")'
    assert opened(rules(f"'{when}'"), state)
    assert not opened(rules('trip.account_type == "business"'), created(52.50, 13.35))  # not sent: ""


@pytest.mark.parametrize(
    ("when", "problem"),
    [
        (
            'in_zone("airprot")',
            "r.yaml:6:19: rules.0.when: unknown zone: no zone 'airprot' (did you mean 'airport'?)",
        ),
        (
            "in_zone(3)",
            "r.yaml:6:19: rules.0.when: wrong type: `3` is a whole number, used with `in_zone` (needs a string)",
        ),
    ],
)
def test_zone_mistakes_are_refused_at_their_place(when: str, problem: str):
    with pytest.raises(RuleError) as caught:
        load_rules({"r.yaml": rules(when)}, TEMPLATES)
    assert caught.value.problems == [problem]


def test_a_zone_needs_three_points_in_range():
    text = "zones:\n  pier: [[52.3, 13.4], [95.0, 13.5]]\nrules: []\n"
    with pytest.raises(RuleError) as caught:
        load_rules({"r.yaml": text}, TEMPLATES)
    assert any("zones.pier" in problem for problem in caught.value.problems)
