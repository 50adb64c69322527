"""Push through Firebase Cloud Messaging HTTP v1 (`messages:send`, OAuth2 bearer token).

The limit, plainly: FCM HTTP v1 has no idempotency key and no way to look a message up. When
the process dies after a request went out and before its answer came back, nobody can know
whether FCM took it, so the message is sent again and FCM may deliver it twice. The passenger
still sees it once, because every copy carries the same id, derived from the message id:
`android.notification.tag` (Android replaces a notification with the same tag),
`android.collapse_key` (FCM keeps only the last of those waiting for an offline device),
`apns-collapse-id` (iOS replaces the same way) and `data.message_id` (the app drops a message
id it has already handled). The case timeline says which messages were re-sent; the count of
FCM requests can exceed the messages by one per interrupted send.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from notifiers.base import Notifier, SendResult
from notifiers.model import OutboundMessage

CHECKIN_CHOICES = "ok,help,report,share"


class FcmNotifier(Notifier):
    channel: ClassVar[str] = "push"
    required_options = ("fcm_project", "fcm_access_token")
    resend_note: ClassVar[str] = "FCM cannot be asked, the device shows it once"

    @property
    def send_url(self) -> str:
        s = self.settings
        return f"{s.fcm_base_url.rstrip('/')}/v1/projects/{s.fcm_project}/messages:send"

    async def send(self, message: OutboundMessage) -> SendResult:
        headers = {"Authorization": f"Bearer {self.settings.fcm_access_token.get_secret_value()}"}
        body = {"message": fcm_message(message)}
        return await self.deliver("POST", self.send_url, "name", json=body, headers=headers)

    def describe_error(self, body: Any) -> str:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return super().describe_error(body)
        codes = [d.get("errorCode") for d in error.get("details", []) if isinstance(d, dict)]
        code = next((c for c in codes if c), error.get("status", ""))
        return f"FCM {code}: {error.get('message', '')}"


def collapse_id(message_id: str) -> str:
    """The same for every copy of one message, so the device shows the copies as one."""
    return hashlib.sha1(message_id.encode()).hexdigest()[:32]


def fcm_message(message: OutboundMessage) -> dict[str, Any]:
    collapse = collapse_id(message.message_id)
    urgent = message.priority == "critical"
    data = {"message_id": message.message_id, "incident_id": message.incident_id, "step": message.step}
    if urgent and message.step == "open":
        data["checkin_choices"] = CHECKIN_CHOICES  # the app shows them as action buttons
    return {
        "token": message.recipients["push"],
        "notification": {"title": message.title, "body": message.body_for("push")},
        "data": data,
        "android": {
            "collapse_key": collapse,
            "priority": "high" if urgent else "normal",
            "notification": {"tag": collapse},
        },
        "apns": {"headers": {"apns-collapse-id": collapse, "apns-priority": "10" if urgent else "5"}},
    }
