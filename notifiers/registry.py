"""Every provider, by the channel name rules and passengers use. Adding one touches this dict;
what outreach does per channel derives from it and the provider's class attributes: which
channels reach passengers and where their address is (`passenger_field`, `address_setting`),
the rate limits (`RATE_<PROVIDER>_*`), which are configured (`required_options`) and the
providers table of docs/outreach.md (`providers_table`, kept equal by a test)."""

from __future__ import annotations

import aiohttp

from core.settings import Settings
from notifiers.base import Notifier, missing_options
from notifiers.fcm import FcmNotifier
from notifiers.pagerduty import PagerDutyNotifier
from notifiers.twilio import TwilioNotifier
from notifiers.webhook import WebhookNotifier

NOTIFIERS: dict[str, type[Notifier]] = {
    "push": FcmNotifier,
    "sms": TwilioNotifier,
    "webhook": WebhookNotifier,
    "pagerduty": PagerDutyNotifier,
}


# The channels a rule's `notify.channels` and a passenger's `channels` may name (rules.model.CHANNELS
# must equal it: rules sit below notifiers, so a test holds the two together).
PASSENGER_CHANNELS: tuple[str, ...] = tuple(c for c, cls in NOTIFIERS.items() if cls.for_passengers())


def build_notifiers(settings: Settings, session: aiohttp.ClientSession) -> dict[str, Notifier]:
    return {channel: cls(settings, session) for channel, cls in NOTIFIERS.items()}


def configured_channels(settings: Settings) -> set[str]:
    """Channels whose provider has all its required settings."""
    return {channel for channel, cls in NOTIFIERS.items() if not missing_options(cls, settings)}


def providers_table() -> str:
    """The markdown table of providers in docs/outreach.md: one row per channel."""
    rows = ["| channel | wire format |", "|---|---|"]
    rows += [f"| `{channel}` | {cls.wire_format} |" for channel, cls in NOTIFIERS.items()]
    return "\n".join(rows)
