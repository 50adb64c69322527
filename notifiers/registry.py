"""Every provider, by the channel name rules and passengers use. Adding one touches this dict."""

from __future__ import annotations

import aiohttp

from monitor.settings import Settings
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


def build_notifiers(settings: Settings, session: aiohttp.ClientSession) -> dict[str, Notifier]:
    return {channel: cls(settings, session) for channel, cls in NOTIFIERS.items()}


def configured_channels(settings: Settings) -> set[str]:
    """Channels whose provider has all its required settings."""
    return {channel for channel, cls in NOTIFIERS.items() if not missing_options(cls, settings)}
