"""Push through Firebase Cloud Messaging HTTP v1 (`messages:send`, OAuth2 bearer token).

The limit, plainly: FCM HTTP v1 has no idempotency key and no way to look a message up. When
the process dies after a request went out and before its answer came back, nobody can know
whether FCM took it, so the message is sent again and FCM may deliver it twice. The passenger
still sees it once, because every copy carries the same id, derived from the message id:
`android.notification.tag` (Android replaces a notification with the same tag),
`android.collapse_key` (FCM keeps only the last of those waiting for an offline device),
`apns-collapse-id` (iOS replaces the same way) and `data.message_id` (the app drops a message
id it has already handled). The case timeline says which messages were re-sent; the count of
FCM requests can exceed the messages by one per interrupted send. An alert's closing message
takes its opening's tag instead, so "Alert closed" replaces "Are you OK?" on the phone.

Every push carries its life (`android.ttl`, `apns-expiration`) and priority from the incident
(`urgency.py`). The bearer token comes from a service-account key, refreshed before it expires,
or from the fixed `fcm_access_token` (`fcm_auth.py`); a 401 drops the token and retries.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, ClassVar

import aiohttp
from google.auth import exceptions

from core.settings import Settings
from notifiers import urgency
from notifiers.base import Notifier, SendResult
from notifiers.fcm_auth import TokenSource
from notifiers.model import OutboundMessage

CHECKIN_CHOICES = "ok,help,report,share"
# An alert's opening and its closing share one notification: the close replaces the alert.
THREAD_STEPS = ("open", "close")


class FcmNotifier(Notifier):
    channel: ClassVar[str] = "push"
    provider: ClassVar[str] = "fcm"
    passenger_field: ClassVar[str | None] = "push_token"
    wire_format: ClassVar[str] = (
        'FCM HTTP v1: `POST {FCM_BASE_URL}/v1/projects/{project}/messages:send`, `Authorization: Bearer <OAuth2 token>`, `{"message": {token, notification, data, android: {collapse_key, priority, ttl, notification.tag}, apns: {headers: apns-collapse-id, apns-priority, apns-expiration, apns-push-type}}}`'
    )
    required_options = ("fcm_project", "fcm_service_account_file|fcm_access_token")
    resend_note: ClassVar[str] = "FCM cannot be asked, the device shows it once"

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        super().__init__(settings, session)
        self.tokens = TokenSource(settings)

    @property
    def send_url(self) -> str:
        s = self.settings
        return f"{s.fcm_base_url.rstrip('/')}/v1/projects/{s.fcm_project}/messages:send"

    async def send(self, message: OutboundMessage) -> SendResult:
        try:
            token = await self.tokens.token()
        except (exceptions.GoogleAuthError, OSError, ValueError) as error:
            # the token endpoint is down or refused the key: nothing was sent, try again later
            return SendResult("retry", f"no FCM access token: {type(error).__name__}: {error}"[:300])
        headers = {"Authorization": f"Bearer {token}"}
        body = {"message": fcm_message(message, self.settings, int(time.time() * 1000))}
        result = await self.deliver("POST", self.send_url, "name", json=body, headers=headers)
        if self.tokens.refreshes and result.detail.startswith("HTTP 401"):
            self.tokens.stale()  # revoked or expired early: the next attempt gets a new one
            return SendResult("retry", result.detail)
        return result

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


def thread_of(message: OutboundMessage) -> str:
    """What the notification's tag is made from: an alert's opening and closing share one (the
    closing replaces the alert on the phone); any other message, its own id."""
    if message.step in THREAD_STEPS:
        return f"{message.incident_id}:{message.audience}:alert"
    return message.message_id


def fcm_message(message: OutboundMessage, settings: Settings, now_ms: int) -> dict[str, Any]:
    collapse = collapse_id(thread_of(message))
    urgent = urgency.time_critical(message)
    ttl = urgency.remaining_s(settings, message, now_ms)
    data = {"message_id": message.message_id, "incident_id": message.incident_id, "step": message.step}
    if message.priority == "critical" and message.step == "open":
        data["checkin_choices"] = CHECKIN_CHOICES  # the app shows them as action buttons
    if message.audience != "passenger":
        data["audience"] = message.audience
    return {
        "token": message.recipients["push"],
        "notification": {"title": message.title, "body": message.body_for("push")},
        "data": data,
        "android": {
            "collapse_key": collapse,
            "priority": "high" if urgent else "normal",
            "ttl": f"{ttl}s",
            "notification": {"tag": collapse},
        },
        "apns": {
            "headers": {
                "apns-collapse-id": collapse,
                "apns-priority": "10" if urgent else "5",
                "apns-expiration": str(now_ms // 1000 + ttl),
                "apns-push-type": "alert",
            }
        },
    }
