"""Delivery: claim a due message, respect the provider's rate, send, record, retry or fall back.

The rate is a token bucket per provider shared by every process (`ratelimit.py`): without a
token the message is postponed by exactly the wait the bucket names.

Timeouts, connection errors, 429 and 5xx are retried with exponential backoff and jitter,
up to `outreach_max_attempts` per channel; a 4xx is not retried. Either way, when a channel
is done for, the next channel of the passenger's plan is tried; after the last one the
message is a dead letter, written on its case.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import redis.asyncio as aioredis

from monitor.settings import Settings
from notifiers.base import Notifier, SendResult
from notifiers.model import Attempt, OutboundMessage, TimelineEntry
from notifiers.outbox import Outbox
from notifiers.ratelimit import TokenBuckets, limits_from

log = logging.getLogger(__name__)

RESENT = "re-sent after an interrupted send"


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        redis: aioredis.Redis,
        notifiers: dict[str, Notifier],
        clock: Callable[[], int],
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.notifiers = notifiers
        self.clock = clock
        self.outbox = Outbox(redis, int(settings.outreach_lease_s * 1000))
        self.buckets = TokenBuckets(redis, limits_from(settings), settings.rate_critical_reserve)

    async def run(self, stop: asyncio.Event) -> None:
        """`outreach_concurrency` senders, so one slow provider does not hold up the others."""
        senders = [self._sender(stop) for _ in range(self.settings.outreach_concurrency)]
        await asyncio.gather(*senders)

    async def _sender(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                worked = await self.run_once()
            except Exception:
                log.exception("delivery failed unexpectedly; going on")
                worked = False
            if not worked:
                try:
                    await asyncio.wait_for(stop.wait(), self.settings.outreach_tick_s)
                except TimeoutError:
                    pass

    async def run_once(self) -> bool:
        """Handle one due message; False when nothing was due."""
        message = await self.outbox.claim(self.clock())
        if message is None:
            return False
        if message.status == "sending" and await self._went_out_before(message):
            return True
        now = self.clock()
        wait_ms = await self.buckets.take(message.channel, now, critical=message.priority == "critical")
        if wait_ms:
            await self.outbox.postpone(message, now + wait_ms)
            return True
        message.status = "sending"
        message.attempt_started_at = now  # the moment the bucket granted it
        await self.outbox.save(message)  # before the request: a crash now is detectable
        result = await self._send(message)
        await self._record(message, result)
        return True

    async def _went_out_before(self, message: OutboundMessage) -> bool:
        """A claim found it `sending`: the last sender died mid-request. Ask the provider.

        When it was not found, or the provider cannot be asked, the message is queued again
        (saved, so the decision survives another crash) and the attempt says why.
        """
        notifier = self.notifiers.get(message.channel)
        found = await notifier.was_sent(message) if notifier is not None else None
        if found:
            result = SendResult("sent", "found at the provider after an interrupted send")
            await self._record(message, result, outcome="reconciled")
            return True
        if found is None:
            note = notifier.resend_note if notifier is not None else Notifier.resend_note
        else:
            note = "not found at the provider"
        detail = f"{RESENT}; {note}"
        log.info("message %s: %s", message.message_id, detail)
        message.history.append(
            Attempt(at=self.clock(), channel=message.channel, outcome="retry", detail=detail)
        )
        message.status = "queued"
        await self.outbox.save(message)
        return False

    async def _send(self, message: OutboundMessage) -> SendResult:
        notifier = self.notifiers.get(message.channel)
        if notifier is None:
            return SendResult("rejected", f"no provider for channel {message.channel!r}")
        missing = notifier.missing_options()
        if missing:
            return SendResult("rejected", f"channel {message.channel} not configured: {', '.join(missing)}")
        return await notifier.send(message)

    async def _record(self, message: OutboundMessage, result: SendResult, outcome: str | None = None) -> None:
        now = self.clock()
        channel = message.channel
        message.history.append(
            Attempt(at=now, channel=channel, outcome=outcome or result.outcome, detail=result.detail)  # type: ignore[arg-type]
        )
        if result.outcome == "sent":
            message.status, message.provider_id = "sent", result.provider_id
            entry = _entry(now, "delivery", _sent_text(message), message, result)
            await self.outbox.finish(message, None, entry, now)
            return
        message.attempts += 1
        if result.outcome == "retry" and message.attempts < self.settings.outreach_max_attempts:
            message.status = "queued"
            await self.outbox.finish(message, now + self._backoff_ms(message.attempts), None, now)
            return
        await self._next_channel(message, result, now)

    async def _next_channel(self, message: OutboundMessage, result: SendResult, now: int) -> None:
        failed = message.channel
        if message.channel_index + 1 < len(message.channels):
            message.channel_index += 1
            message.attempts, message.status = 0, "queued"
            text = f"{message.step} message failed on {failed} ({result.detail}); trying {message.channel}"
            await self.outbox.finish(message, now, _entry(now, "delivery", text, message, result), now)
            return
        message.status = "dead"
        text = f"{message.step} message not delivered: dead letter after {failed} ({result.detail})"
        log.warning("message %s: %s", message.message_id, text)
        await self.outbox.finish(message, None, _entry(now, "dead_letter", text, message, result), now)

    def _backoff_ms(self, attempts: int) -> int:
        s = self.settings
        delay = min(s.outreach_retry_max_s, s.outreach_retry_base_s * 2 ** (attempts - 1))
        return int(1000 * (delay / 2 + random.uniform(0, delay / 2)))


def _sent_text(message: OutboundMessage) -> str:
    """`open message sent by push`, and why it went twice when a crash interrupted a send."""
    text = f"{message.step} message sent by {message.channel}"
    resent = [
        a.detail for a in message.history if a.channel == message.channel and a.detail.startswith(RESENT)
    ]
    return f"{text} ({resent[-1]})" if resent else text


def _entry(now: int, what: str, text: str, message: OutboundMessage, result: SendResult) -> TimelineEntry:
    data = {"message_id": message.message_id, "channel": message.channel, "detail": result.detail}
    if result.provider_id:
        data["provider_id"] = result.provider_id
    return TimelineEntry(at=now, what=what, text=text, data=data)
