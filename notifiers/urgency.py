"""How long a message stays worth delivering, and whether it must wake the phone.

A push or SMS that waits in the provider's queue (phone off, no signal) is dropped once it is
stale instead of arriving hours later: FCM `android.ttl` and `apns-expiration`, Twilio
`ValidityPeriod`, from the incident's severity (`outreach_ttl_<severity>_s`), counted from the
moment the message was queued. A survey is never urgent and takes the `low` ttl.
Time-critical pushes (critical incidents, safety kinds, pickup delays) go at high priority
(`android.priority: high`, `apns-priority: 10`); the rest at normal priority (5), which a phone
may batch to save battery.
"""

from __future__ import annotations

from core.settings import Settings
from notifiers.model import TIME_CRITICAL_KINDS, OutboundMessage

TTL_FIELDS = {
    "critical": "outreach_ttl_critical_s",
    "high": "outreach_ttl_high_s",
    "medium": "outreach_ttl_medium_s",
    "low": "outreach_ttl_low_s",
}


def ttl_s(settings: Settings, message: OutboundMessage) -> int:
    """The message's whole life in seconds (an unknown severity counts as medium)."""
    severity = "low" if message.step == "survey" else message.severity
    return int(getattr(settings, TTL_FIELDS.get(severity, "outreach_ttl_medium_s")))


def remaining_s(settings: Settings, message: OutboundMessage, now_ms: int) -> int:
    """What is left of its life at `now_ms`: at least 1 s (Twilio refuses 0), at most the whole."""
    whole = ttl_s(settings, message)
    born = message.created_at or now_ms
    return max(1, min(whole, (born + whole * 1000 - now_ms) // 1000))


def time_critical(message: OutboundMessage) -> bool:
    if message.step in ("close", "survey"):
        return False  # news that it is over can wait for the phone's next wake-up
    return (
        message.priority == "critical"
        or message.severity == "critical"
        or message.kind in TIME_CRITICAL_KINDS
    )
