"""The small base every provider module builds on: one `send`, one HTTP outcome rule.

Outcomes: `sent`; `unknown` when the request may have reached the provider but no answer came
(a timeout, a connection dropped after sending): it may have been delivered, so the dispatcher
asks the provider (or resends so that the device collapses the copies) before trying again;
`retry` for refused connections, 429 and 5xx (nothing was taken), with the provider's
`Retry-After` (seconds or an HTTP date) when it names one; `rejected` for any other 4xx, which is
never retried on the same channel (the provider's error is kept).
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import aiohttp

from core.settings import Settings
from notifiers.model import OutboundMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    outcome: Literal["sent", "retry", "rejected", "unknown"]
    detail: str = ""
    provider_id: str | None = None
    retry_after_s: float | None = None  # the provider asked us to wait this long (429 / 503)


class Notifier:
    """One provider. Subclasses set `channel` and `required_options` and implement `send`."""

    channel: ClassVar[str]
    required_options: ClassVar[tuple[str, ...]] = ()
    # Why a send interrupted by a crash (or left without an answer) is repeated.
    resend_note: ClassVar[str] = "the provider cannot be asked"
    # True: `was_sent` can tell; a failed lookup is asked again later, never resent.
    answers_lookups: ClassVar[bool] = False
    # Where a passenger's address on this channel is: a field of `Passenger` (`phone`), or a
    # setting (`webhook_url`, one address for all); neither: not a passenger channel (paging).
    passenger_field: ClassVar[str | None] = None
    address_setting: ClassVar[str | None] = None
    # The provider's name in its settings: `RATE_<NAME>_PER_S`, `RATE_<NAME>_BURST`.
    provider: ClassVar[str]
    wire_format: ClassVar[str] = ""  # one line for docs/outreach.md's table of providers

    @classmethod
    def for_passengers(cls) -> bool:
        return cls.passenger_field is not None or cls.address_setting is not None

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.session = session

    def missing_options(self) -> list[str]:
        return missing_options(type(self), self.settings)

    async def send(self, message: OutboundMessage) -> SendResult:
        raise NotImplementedError

    async def was_sent(self, message: OutboundMessage) -> bool | None:
        """After a crash mid-send: did the provider take it? None = it cannot tell."""
        return None

    async def request(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        """(status, parsed body); raises `ProviderUnreachable` for timeouts and connection errors."""
        status, body, _ = await self.exchange(method, url, **kwargs)
        return status, body

    async def exchange(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any, Mapping[str, str]]:
        """`request`, with the answer's headers."""
        timeout = aiohttp.ClientTimeout(total=self.settings.outreach_http_timeout_s)
        try:
            async with self.session.request(method, url, timeout=timeout, **kwargs) as response:
                return response.status, await _body(response), response.headers
        except aiohttp.ClientConnectorError as error:  # never connected: nothing was sent
            raise ProviderUnreachable(f"{type(error).__name__}: {error}".rstrip(": "), sent=False) from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise ProviderUnreachable(f"{type(error).__name__}: {error}".rstrip(": ")) from None

    async def deliver(self, method: str, url: str, read_id: str, **kwargs: Any) -> SendResult:
        """Send one request and classify the answer."""
        try:
            status, body, headers = await self.exchange(method, url, **kwargs)
        except ProviderUnreachable as error:
            return SendResult("unknown" if error.maybe_sent else "retry", str(error))
        if 200 <= status < 300:
            provider_id = body.get(read_id) if isinstance(body, dict) else None
            return SendResult("sent", f"HTTP {status}", str(provider_id) if provider_id else None)
        detail = f"HTTP {status}: {self.describe_error(body)}"
        if status == 429 or status >= 500:
            return SendResult("retry", detail, retry_after_s=retry_after(headers.get("Retry-After")))
        return SendResult("rejected", detail)

    def describe_error(self, body: Any) -> str:
        return str(body)[:300]


def missing_options(cls: type[Notifier], settings: Settings) -> list[str]:
    """Required settings left empty; `a|b` is satisfied by either (FCM: a key file or a token)."""
    return [
        option
        for option in cls.required_options
        if not any(getattr(settings, name) for name in option.split("|"))
    ]


def retry_after(value: str | None, now_s: float | None = None) -> float | None:
    """`Retry-After` as seconds to wait: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now_s is None else now_s))


class ProviderUnreachable(ConnectionError):
    """No answer from the provider (timeout, refused connection, reset). `maybe_sent` is False
    only when the connection was never made, so the request cannot have been taken."""

    def __init__(self, text: str, sent: bool = True) -> None:
        super().__init__(text)
        self.maybe_sent = sent


async def _body(response: aiohttp.ClientResponse) -> Any:
    text = await response.text()
    try:
        return await response.json(content_type=None) if text else {}
    except ValueError:
        return text[:300]
