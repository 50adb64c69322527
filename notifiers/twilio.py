"""SMS through Twilio's Messages API (form-encoded POST, HTTP basic auth with the account SID)."""

from __future__ import annotations

import base64
import email.utils
from typing import Any, ClassVar

from notifiers.base import Notifier, ProviderUnreachable, SendResult
from notifiers.model import OutboundMessage

RECONCILE_SKEW_MS = 120_000


class TwilioNotifier(Notifier):
    channel: ClassVar[str] = "sms"
    required_options = ("twilio_account_sid", "twilio_auth_token", "twilio_from")

    @property
    def messages_url(self) -> str:
        s = self.settings
        return f"{s.twilio_base_url.rstrip('/')}/2010-04-01/Accounts/{s.twilio_account_sid}/Messages.json"

    @property
    def auth_header(self) -> dict[str, str]:
        pair = f"{self.settings.twilio_account_sid}:{self.settings.twilio_auth_token.get_secret_value()}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

    async def send(self, message: OutboundMessage) -> SendResult:
        form = {"To": message.recipients["sms"], "From": self.settings.twilio_from, "Body": message.body}
        return await self.deliver("POST", self.messages_url, "sid", data=form, headers=self.auth_header)

    async def was_sent(self, message: OutboundMessage) -> bool | None:
        """Look the message up in Twilio's log: same recipient, same body, since the attempt began."""
        params = {"To": message.recipients["sms"], "From": self.settings.twilio_from, "PageSize": "50"}
        try:
            status, body = await self.request(
                "GET", self.messages_url, params=params, headers=self.auth_header
            )
        except ProviderUnreachable:
            return None
        if status != 200 or not isinstance(body, dict):
            return None
        since = (message.attempt_started_at or 0) - RECONCILE_SKEW_MS
        return any(_matches(item, message.body, since) for item in body.get("messages", []))

    def describe_error(self, body: Any) -> str:
        if isinstance(body, dict) and "code" in body:
            return f"Twilio error {body['code']}: {body.get('message', '')}"
        return super().describe_error(body)


def _matches(item: dict[str, Any], text: str, since_ms: int) -> bool:
    if item.get("body") != text:
        return False
    try:
        created = email.utils.parsedate_to_datetime(item.get("date_created") or "")
    except (TypeError, ValueError):
        return True  # same body to the same number, undated: count it as sent
    return created.timestamp() * 1000 >= since_ms
