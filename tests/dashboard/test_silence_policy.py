"""What the board lets a person silence: names that exist, safety kinds for admins only,
confirmed and short, and recurring windows that open before the silence ends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.silence_policy import Vocabulary, check_safety
from rules.silences import SilenceError, new_silence

NOW = int(datetime(2026, 11, 26, 12, 0, tzinfo=UTC).timestamp() * 1000)
ROWS = [
    {"kind": "pickup_delay", "city": "berlin", "rule_id": "pickup-delay-vip"},
    {"kind": "sos", "city": "hamburg", "rule_id": "sos"},
]
VOCABULARY = Vocabulary.gather(None, ROWS)
HOUR_MS = 3_600_000


def silence(**fields):
    return new_silence(until_ms=fields.pop("until_ms", NOW + HOUR_MS), now_ms=NOW, **fields)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"kind": "pickup-delay"}, "kind: unknown kind 'pickup-delay' (known: crash_suspected,"),
        ({"city": "berln"}, "city: unknown city 'berln' (known: berlin, hamburg)"),
        ({"rule_id": "no-such-rule"}, "rule_id: unknown rule 'no-such-rule'"),
    ],
)
def test_a_matcher_that_names_nothing_is_refused(fields, error):
    with pytest.raises(SilenceError) as refused:
        VOCABULARY.check(silence(**fields))
    assert str(refused.value).startswith(error)


def test_catalogue_kinds_and_seen_cities_and_rules_are_accepted():
    VOCABULARY.check(silence(kind="double_charge", city="berlin", rule_id="pickup-delay-vip"))


@pytest.mark.parametrize(
    ("fields", "covers"),
    [({}, True), ({"kind": "sos"}, True), ({"kind": "pickup_delay"}, False), ({"rule_id": "sos"}, True),
     ({"rule_id": "pickup-delay-vip"}, False), ({"city": "berlin"}, True)],
)  # fmt: skip
def test_which_silences_cover_safety_kinds(fields, covers):
    assert VOCABULARY.covers_safety(silence(**fields)) is covers


@pytest.mark.parametrize(
    ("role", "confirmed", "hours", "error"),
    [
        (
            "supervisor",
            True,
            1,
            "kind: this silence would hold SOS, crash and other safety outreach: admins only",
        ),
        ("admin", False, 1, "confirm_safety: this silence holds safety outreach; confirm it explicitly"),
        ("admin", True, 24 * 90, "until: a silence over safety kinds lasts at most 4h"),
    ],
)
def test_a_safety_silence_needs_an_admin_a_confirmation_and_a_short_end(role, confirmed, hours, error):
    with pytest.raises(SilenceError) as refused:
        check_safety(silence(until_ms=NOW + hours * HOUR_MS), True, role, confirmed, 4 * 3600)
    assert str(refused.value) == error


def test_a_confirmed_short_safety_silence_by_an_admin_is_allowed():
    check_safety(silence(until_ms=NOW + 4 * HOUR_MS), True, "admin", True, 4 * 3600)
    check_safety(silence(until_ms=NOW + 900 * HOUR_MS), False, "supervisor", False, 4 * 3600)


def test_a_daily_window_that_opens_only_after_the_end_is_refused():
    with pytest.raises(SilenceError) as refused:  # 12:00 now, one hour, window 03:00-04:00
        silence(daily="03:00-04:00", until_ms=NOW + HOUR_MS)
    assert "never opens before the silence ends" in str(refused.value)
    assert silence(daily="03:00-04:00", until_ms=NOW + 16 * HOUR_MS).daily == "03:00-04:00"
    assert silence(daily="11:00-13:00", until_ms=NOW + HOUR_MS).active(NOW)
