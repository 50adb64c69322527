"""SMS through Twilio's Messages API (form-encoded POST, HTTP basic auth with the account SID).

A send that got no answer (timeout) may still have been taken: before sending again the
dispatcher asks `was_sent`, which reads Twilio's message list for that `To` since the first
attempt (`DateSent>=` the day, then to the second by `date_created`) and matches the body.
With `outreach_public_url` set, every send asks for delivery receipts (`StatusCallback` to the
inbound webhook, `notifiers/inbound.py`, which checks Twilio's signature). `ValidityPeriod`
(`urgency.py`, from the incident's severity) makes Twilio drop a message still queued when it
has gone stale, instead of sending a pickup-delay SMS hours later.
"""

from __future__ import annotations

import base64
import email.utils
import time
from typing import Any, ClassVar

from notifiers import urgency
from notifiers.base import Notifier, ProviderUnreachable, SendResult
from notifiers.model import OutboundMessage

RECONCILE_SKEW_MS = 120_000
STATUS_PATH = "/twilio/status"  # the inbound webhook's path for delivery receipts


class TwilioNotifier(Notifier):
    channel: ClassVar[str] = "sms"
    provider: ClassVar[str] = "twilio"
    passenger_field: ClassVar[str | None] = "phone"
    wire_format: ClassVar[str] = (
        "Twilio: `POST {TWILIO_BASE_URL}/2010-04-01/Accounts/{sid}/Messages.json`, form `To`, `From`, `Body`, `ValidityPeriod`, (`StatusCallback`), HTTP basic auth (SID, token)"
    )
    required_options = ("twilio_account_sid", "twilio_auth_token", "twilio_from")
    answers_lookups: ClassVar[bool] = True

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
        form["ValidityPeriod"] = str(urgency.remaining_s(self.settings, message, int(time.time() * 1000)))
        if self.settings.outreach_public_url:
            form["StatusCallback"] = self.settings.outreach_public_url.rstrip("/") + STATUS_PATH
        return await self.deliver("POST", self.messages_url, "sid", data=form, headers=self.auth_header)

    async def was_sent(self, message: OutboundMessage) -> bool | None:
        """Look the message up in Twilio's log: same recipient, same body, since the first attempt."""
        first = message.first_attempt_at or message.attempt_started_at or 0
        day = time.strftime("%Y-%m-%d", time.gmtime(max(0, first - RECONCILE_SKEW_MS) / 1000))
        params = {
            "To": message.recipients["sms"],
            "From": self.settings.twilio_from,
            "DateSent>": day,  # `DateSent>=`: aiohttp spells the name, the `=` is the separator
            "PageSize": "50",
        }
        try:
            status, body = await self.request(
                "GET", self.messages_url, params=params, headers=self.auth_header
            )
        except ProviderUnreachable:
            return None
        if status != 200 or not isinstance(body, dict):
            return None
        since = first - RECONCILE_SKEW_MS
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
