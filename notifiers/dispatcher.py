"""Delivery: claim a due message, respect the provider's rate, send, record, retry or fall back.

The rate is a token bucket per provider shared by every process (`ratelimit.py`): without a
token the message is postponed by exactly the wait the bucket names.

Refused connections, 429 and 5xx are retried with exponential backoff and jitter (never sooner
than the provider's `Retry-After`), up to
`outreach_max_attempts` per channel; a 4xx is not retried. Either way, when a channel is done
for, the next channel of the passenger's plan is tried; after the last one the message is a
dead letter, written on its case.

A send with no answer (a timeout, a connection dropped after the request went out) is
*unknown*, not failed: the message stays `sending`, and before it is sent again the provider
is asked (`Notifier.was_sent`: Twilio's message list), or it is resent in a way the device
collapses (FCM: the same tag and collapse id), or a repeat is harmless (PagerDuty's dedup
key). When the attempts run out with the last outcome unknown, the message ends `unknown`
("delivery unknown" on its case), never `dead`: it may have been delivered.

Page first: a critical passenger message queued with its incident's first page
(`after_page`) waits until PagerDuty accepted the page, but never past `hold_until`
(`outreach_page_first_wait_s`): a paging outage must not hold a safety message back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from core.settings import Settings
from notifiers.base import Notifier, SendResult
from notifiers.model import Attempt, OutboundMessage, TimelineEntry
from notifiers.outbox import Outbox
from notifiers.ratelimit import TokenBuckets, limits_from

log = logging.getLogger(__name__)

RESENT = "re-sent after an interrupted send"
UNANSWERED = "sent again after a send with no answer"
PAGE_POLL_MS = 200  # how often a held message looks whether its page was accepted
DONE = ("sent", "dead", "unknown")
IDLE_SENDER_S = 5.0  # an idle sender that does not watch the outbox looks at it this often


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
        self._claimed = asyncio.Condition()
        self._watching = False  # an idle sender looks at the outbox every tick

    async def run(self, stop: asyncio.Event) -> None:
        """`outreach_concurrency` senders, so one slow provider does not hold up the others.

        While nothing is due, one idle sender looks at the outbox every `outreach_tick_s`; the
        others wait until a message is claimed (eight pollers made an idle outreach cost more
        than its broker), or `IDLE_SENDER_S` at the latest."""
        senders = [self._sender(stop) for _ in range(self.settings.outreach_concurrency)]
        await asyncio.gather(self._wake_on(stop), *senders)

    async def _sender(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                worked = await self.run_once()
            except Exception:
                log.exception("delivery failed unexpectedly; going on")
                worked = False
            if not worked:
                await self._idle(stop)

    async def _idle(self, stop: asyncio.Event) -> None:
        if self._watching:  # another idle sender looks at the outbox
            await _within(self._claimed_wait(), IDLE_SENDER_S)
            return
        self._watching = True
        try:
            await _within(stop.wait(), self.settings.outreach_tick_s)
        finally:
            self._watching = False

    async def _claimed_wait(self) -> None:
        async with self._claimed:
            await self._claimed.wait()

    async def _wake_senders(self) -> None:
        """A message was claimed (more may be due), or outreach stops: every idle sender looks."""
        async with self._claimed:
            self._claimed.notify_all()

    async def _wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        await self._wake_senders()

    async def run_once(self) -> bool:
        """Handle one due message; False when nothing was due."""
        message = await self.outbox.claim(self.clock())
        if message is None:
            return False
        await self._wake_senders()
        if message.status == "sending" and await self._went_out_before(message):
            return True
        now = self.clock()
        if await self._held_for_page(message, now):
            return True
        wait_ms = await self.buckets.take(message.channel, now, critical=message.priority == "critical")
        if wait_ms:
            await self.outbox.postpone(message, now + wait_ms)
            return True
        message.status = "sending"
        message.attempt_started_at = now  # the moment the bucket granted it
        message.first_attempt_at = message.first_attempt_at or now
        await self.outbox.save(message)  # before the request: a crash now is detectable
        result = await self._send(message)
        await self._record(message, result)
        return True

    async def _held_for_page(self, message: OutboundMessage, now: int) -> bool:
        """Page first: True (and postponed) while the page this message waits for is not
        accepted yet and its hold has not run out."""
        if message.after_page is None or message.hold_until is None:
            return False
        page = await self.outbox.get(message.after_page)
        if page is None or page.status in DONE or now >= message.hold_until:
            note = _page_note(page, message, now)
            message.after_page = None  # decided: it goes now, and is not held again
            message.history.append(Attempt(at=now, channel=message.channel, outcome="retry", detail=note))
            await self.outbox.save(message)
            return False
        await self.outbox.postpone(message, min(message.hold_until, now + PAGE_POLL_MS))
        return True

    async def _went_out_before(self, message: OutboundMessage) -> bool:
        """A claim found it `sending`: the last sender died mid-request, or the request got no
        answer. Ask the provider.

        When it was not found, or the provider cannot be asked, the message is queued again
        (saved, so the decision survives another crash) and the attempt says why.
        """
        notifier = self.notifiers.get(message.channel)
        found = await notifier.was_sent(message) if notifier is not None else None
        if found:
            result = SendResult("sent", "found at the provider after an interrupted send")
            await self._record(message, result, outcome="reconciled")
            return True
        if found is None and notifier is not None and notifier.answers_lookups:
            return await self._lookup_failed(message)
        if found is None:
            note = notifier.resend_note if notifier is not None else Notifier.resend_note
        else:
            note = "not found at the provider"
        last = message.history[-1] if message.history else None
        why = UNANSWERED if last is not None and last.outcome == "unknown" else RESENT
        detail = f"{why}; {note}"
        log.info("message %s: %s", message.message_id, detail)
        message.history.append(
            Attempt(at=self.clock(), channel=message.channel, outcome="retry", detail=detail)
        )
        message.status = "queued"
        await self.outbox.save(message)
        return False

    async def _lookup_failed(self, message: OutboundMessage) -> bool:
        """The provider keeps a log but could not be read: ask again later rather than risk a
        second copy; when the attempts run out, the delivery is unknown."""
        result = SendResult("unknown", "could not ask the provider whether it was sent")
        now = self.clock()
        message.history.append(
            Attempt(at=now, channel=message.channel, outcome="unknown", detail=result.detail)
        )
        message.attempts += 1
        if message.attempts < self.settings.outreach_max_attempts:
            await self.outbox.finish(message, now + self._backoff_ms(message.attempts), None, now)
        else:
            await self._unknown(message, result, now)
        return True

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
            await self.outbox.finish(message, None, entry, now, self.settings.helpdesk_webhook_url)
            return
        message.attempts += 1
        if result.outcome in ("retry", "unknown") and message.attempts < self.settings.outreach_max_attempts:
            message.status = "sending" if result.outcome == "unknown" else "queued"  # unknown: ask first
            wait_ms = self._backoff_ms(message.attempts, result.retry_after_s)
            await self.outbox.finish(message, now + wait_ms, None, now)
            return
        if result.outcome == "unknown" or _maybe_delivered(message):
            await self._unknown(message, result, now)
            return
        await self._next_channel(message, result, now)

    async def _unknown(self, message: OutboundMessage, result: SendResult, now: int) -> None:
        """The attempts ran out and the provider may have taken it: never a dead letter. A safety
        message still tries the next channel (better twice than never); others stop here."""
        channel = message.channel
        if message.priority == "critical" and message.channel_index + 1 < len(message.channels):
            message.channel_index += 1
            message.attempts, message.status, message.first_attempt_at = 0, "queued", None
            text = f"{message.step} message delivery unknown on {channel} ({result.detail}); also trying {message.channel}"
            entry = _entry(now, "delivery_unknown", text, message, result)
            await self.outbox.finish(message, now, entry, now, self.settings.helpdesk_webhook_url)
            return
        message.status = "unknown"
        text = f"{message.step} message delivery unknown: {_unknown_text(message)} ({result.detail})"
        log.warning("message %s: %s", message.message_id, text)
        entry = _entry(now, "delivery_unknown", text, message, result)
        await self.outbox.finish(message, None, entry, now, self.settings.helpdesk_webhook_url)

    async def _next_channel(self, message: OutboundMessage, result: SendResult, now: int) -> None:
        failed = message.channel
        if message.channel_index + 1 < len(message.channels):
            message.channel_index += 1
            message.attempts, message.status, message.first_attempt_at = 0, "queued", None
            text = f"{message.step} message failed on {failed} ({result.detail}); trying {message.channel}"
            await self.outbox.finish(message, now, _entry(now, "delivery", text, message, result), now)
            return
        message.status = "dead"
        text = f"{message.step} message not delivered: dead letter after {failed} ({result.detail})"
        log.warning("message %s: %s", message.message_id, text)
        entry = _entry(now, "dead_letter", text, message, result)
        await self.outbox.finish(message, None, entry, now, self.settings.helpdesk_webhook_url)

    def _backoff_ms(self, attempts: int, retry_after_s: float | None = None) -> int:
        """Exponential backoff with equal jitter; never sooner than the provider's `Retry-After`
        (bounded by `outreach_retry_max_s`, so a provider cannot park a message for hours)."""
        s = self.settings
        delay = min(s.outreach_retry_max_s, s.outreach_retry_base_s * 2 ** (attempts - 1))
        jittered = delay / 2 + random.uniform(0, delay / 2)
        if retry_after_s is not None:
            jittered = max(jittered, min(retry_after_s, s.outreach_retry_max_s))
        return int(1000 * jittered)


def _sent_text(message: OutboundMessage) -> str:
    """`open message sent by push`, and why it went twice when a crash interrupted a send."""
    text = f"{message.step} message sent by {message.channel}"
    resent = [
        a.detail
        for a in message.history
        if a.channel == message.channel and a.detail.startswith((RESENT, UNANSWERED))
    ]
    return f"{text} ({resent[-1]})" if resent else text


def _maybe_delivered(message: OutboundMessage) -> bool:
    """Some attempt on the current channel got no answer: a later refusal does not undo it."""
    return any(a.outcome == "unknown" for a in message.history if a.channel == message.channel)


def _unknown_text(message: OutboundMessage) -> str:
    """Why nobody can say; a push resent with one collapse id is still one notification."""
    tries = sum(1 for a in message.history if a.channel == message.channel and a.outcome == "unknown")
    if message.channel == "push":
        return (
            f"FCM did not answer {tries} request(s); every copy has one collapse id, the device shows it once"
        )
    return (
        f"{message.channel} did not answer {tries} request(s) and it could not be confirmed; not sent again"
    )


def _page_note(page: OutboundMessage | None, message: OutboundMessage, now: int) -> str:
    if page is not None and page.status == "sent":
        return "page first: sent after PagerDuty accepted the page"
    if page is not None and page.status not in DONE:
        return "page first: the page was not accepted in time, sent anyway (safety is not held back)"
    state = page.status if page is not None else "gone"
    return f"page first: the page is {state}, sent anyway"


def _entry(now: int, what: str, text: str, message: OutboundMessage, result: SendResult) -> TimelineEntry:
    data = {"message_id": message.message_id, "channel": message.channel, "detail": result.detail}
    if result.provider_id:
        data["provider_id"] = result.provider_id
    return TimelineEntry(at=now, what=what, text=text, data=data)


async def _within(waiting: Awaitable[object], timeout_s: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(waiting, timeout_s)
