"""On-call paging through PagerDuty's Events API v2 (`POST /v2/enqueue`).

PagerDuty de-duplicates on `dedup_key`, so a repeat after a crash changes nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from notifiers.base import Notifier, SendResult
from notifiers.model import OutboundMessage


class PagerDutyNotifier(Notifier):
    channel: ClassVar[str] = "pagerduty"
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


def page_event(
    action: str, dedup_key: str, summary: str, severity: str, source: str, details: dict[str, Any]
) -> dict[str, Any]:
    """An Events v2 body without its routing key (the outbox message's recipient)."""
    event: dict[str, Any] = {"event_action": action, "dedup_key": dedup_key}
    if action == "trigger":
        event["payload"] = {
            "summary": summary[:1024],
            "source": source,
            "severity": severity if severity in {"critical", "error", "warning", "info"} else "error",
            "custom_details": details,
        }
    return event
