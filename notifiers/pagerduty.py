"""On-call paging through PagerDuty's Events API v2 (`POST /v2/enqueue`).

PagerDuty de-duplicates on `dedup_key`, so a repeat after a crash changes nothing. A trigger
carries the whole Events v2 payload: `summary`, `source`, `severity`, `timestamp` (when
Tripwatch decided), `component` (the rule), `group` (the city), `class` (the kind),
`custom_details`, and `links` to the trip on the board (`board_public_url`). A 429 answer's
`Retry-After` is honoured by the dispatcher (`base.retry_after`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

from notifiers.base import Notifier, SendResult
from notifiers.model import OutboundMessage


class PagerDutyNotifier(Notifier):
    channel: ClassVar[str] = "pagerduty"
    provider: ClassVar[str] = "pagerduty"
    wire_format: ClassVar[str] = (
        "Events API v2: `POST {PAGERDUTY_URL}`, `{routing_key, event_action, dedup_key, payload: "
        "{summary, source, severity, timestamp, component, group, class, custom_details}, links}`"
    )
    required_options = ("pagerduty_url",)

    async def send(self, message: OutboundMessage) -> SendResult:
        event = {"routing_key": message.recipients["pagerduty"], **message.payload}
        return await self.deliver("POST", self.settings.pagerduty_url, "dedup_key", json=event)

    async def was_sent(self, message: OutboundMessage) -> bool | None:
        return False  # a repeat is harmless: PagerDuty de-duplicates on dedup_key

    def describe_error(self, body: Any) -> str:
        if isinstance(body, dict) and "message" in body:
            return f"PagerDuty {body.get('status', '')}: {body['message']} {body.get('errors', '')}".strip()
        return super().describe_error(body)


@dataclass(frozen=True)
class PageContext:
    """What on-call needs besides the summary: when, what part, where, what kind, and a link."""

    timestamp_ms: int = 0  # when Tripwatch decided (the incident's `detected_at`)
    component: str = ""  # the incident's rule
    group: str = ""  # the city
    event_class: str = ""  # the incident's kind
    links: tuple[tuple[str, str], ...] = ()  # (href, text)


def page_event(
    action: str,
    dedup_key: str,
    summary: str,
    severity: str,
    source: str,
    details: dict[str, Any],
    context: PageContext | None = None,
) -> dict[str, Any]:
    """An Events v2 body without its routing key (the outbox message's recipient)."""
    event: dict[str, Any] = {"event_action": action, "dedup_key": dedup_key}
    if action != "trigger":
        return event
    context = context or PageContext()
    payload: dict[str, Any] = {
        "summary": summary[:1024],
        "source": source,
        "severity": severity if severity in {"critical", "error", "warning", "info"} else "error",
        "custom_details": details,
    }
    if context.timestamp_ms:
        payload["timestamp"] = iso_time(context.timestamp_ms)
    optional = {"component": context.component, "group": context.group, "class": context.event_class}
    payload.update({name: value for name, value in optional.items() if value})
    event["payload"] = payload
    if context.links:
        event["links"] = [{"href": href, "text": text} for href, text in context.links]
    return event


def trip_link(board_url: str, order_id: str) -> tuple[tuple[str, str], ...]:
    """The board's trip view of the order, when the board's public address is known."""
    if not board_url:
        return ()
    return ((f"{board_url.rstrip('/')}/trips/{quote(order_id, safe='')}", f"Trip {order_id} on the board"),)


def iso_time(ms: int) -> str:
    """ISO 8601 with milliseconds, UTC, as PagerDuty's `timestamp` wants it."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
