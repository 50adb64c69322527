"""The registry of providers is the one list of channels: docs, rules and limits follow it."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from notifiers.ratelimit import limits_from
from notifiers.registry import NOTIFIERS, PASSENGER_CHANNELS, providers_table
from rules.model import CHANNELS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "outreach.md"


def test_the_docs_table_of_providers_is_the_registrys():
    assert providers_table() in DOCS.read_text()


def test_rules_name_the_passenger_channels_of_the_registry():
    assert PASSENGER_CHANNELS == ("push", "sms", "webhook")  # pagerduty pages on-call only
    assert set(CHANNELS) == set(PASSENGER_CHANNELS)


def test_every_channel_has_its_providers_rate_limit():
    limits = limits_from(Settings(rate_twilio_per_s=7, rate_pagerduty_burst=3))
    assert set(limits) == set(NOTIFIERS)
    assert (limits["sms"].rate, limits["sms"].burst) == (7, 7)
    assert limits["pagerduty"].burst == 3
