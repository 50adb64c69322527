"""A generic webhook: JSON POST signed with HMAC-SHA256 over `<timestamp>.<body>`.

Headers: `X-Tripwatch-Timestamp` (Unix seconds), `X-Tripwatch-Signature: v1=<hex>`,
`X-Tripwatch-Delivery` (the message id: the same on every retry, receivers de-duplicate
on it). `verify` is what a receiver runs.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any, ClassVar

import orjson

from notifiers.base import Notifier, SendResult
from notifiers.model import OutboundMessage

SIGNATURE_VERSION = "v1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, tolerance_s: int = 300) -> bool:
    """True when the signature matches and the timestamp is recent (replays are refused)."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(time.time() - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


class WebhookNotifier(Notifier):
    channel: ClassVar[str] = "webhook"
    provider: ClassVar[str] = "webhook"
    address_setting: ClassVar[str | None] = "webhook_url"
    wire_format: ClassVar[str] = (
        'JSON POST; `X-Tripwatch-Timestamp`, `X-Tripwatch-Signature: v1=hex(HMAC-SHA256(secret, "<ts>.<body>"))`, `X-Tripwatch-Delivery`; receivers check with `notifiers.webhook.verify` (5-minute tolerance)'
    )
    required_options = ("webhook_secret",)

    async def send(self, message: OutboundMessage) -> SendResult:
        body = orjson.dumps(webhook_document(message))
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-Tripwatch-Delivery": message.message_id,
            "X-Tripwatch-Timestamp": str(timestamp),
            "X-Tripwatch-Signature": sign(self.settings.webhook_secret.get_secret_value(), timestamp, body),
        }
        return await self.deliver("POST", message.recipients["webhook"], "id", data=body, headers=headers)


def webhook_document(message: OutboundMessage) -> dict[str, Any]:
    if message.payload:
        return {"delivery_id": message.message_id, **message.payload}
    return {
        "delivery_id": message.message_id,
        "incident_id": message.incident_id,
        "step": message.step,
        "title": message.title,
        "body": message.body_for("webhook"),
    }
