"""`tripwatch outreach`: consume `incidents`, let conversations speak, deliver, take replies.

Offsets are committed after each batch is handled; a crash replays the batch, and the
engine's revision check makes that harmless. Delivery is driven by the Redis outbox, so a
restart picks up exactly where the last process stopped.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import aiohttp
import msgspec
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer
from redis.exceptions import RedisError

from core import names
from core.clock import now_ms
from core.fetch_wait import adapt_fetch_wait
from core.settings import Settings
from notifiers.cases import CaseStore
from notifiers.dispatcher import Dispatcher
from notifiers.engine import Outreach, escalate_due
from notifiers.lifecycle import resolve_due
from notifiers.model import IncidentView, decode_incident
from notifiers.policy import default_policy_for, rule_policy_for
from notifiers.registry import build_notifiers
from notifiers.reminders import remind_due
from notifiers.render import Templates
from notifiers.stop_escalation import EscalationPublisher, flush
from rules.loader import RuleError, RuleSet, load_rule_dir
from rules.reload import RuleReloader
from rules.routes import undefined_routes
from rules.silences import silence_for

log = logging.getLogger(__name__)


def run_outreach(settings: Settings) -> None:
    asyncio.run(serve(settings))


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or _stop_on_signals()
    redis = aioredis.from_url(settings.redis_dsn)
    session = aiohttp.ClientSession()
    templates = Templates()
    rules = FollowedRules(redis, settings)
    policy = rule_policy_for(rules.current, default_policy_for(templates))

    async def is_silenced(incident: IncidentView, now: int) -> bool:
        return await silence_for(redis, incident, now) is not None

    publisher = EscalationPublisher(settings)  # the stop check-in's "help" / no answer -> the worker
    outreach = Outreach(
        settings, redis, templates, now_ms, policy=policy, is_silenced=is_silenced, send_escalation=publisher
    )
    dispatcher = Dispatcher(settings, redis, build_notifiers(settings, session), now_ms)
    try:
        await publisher.start()
        await rules.start()
        await asyncio.gather(
            consume(settings, outreach, stop),
            _ticks(settings, outreach, stop),
            rules.follow(stop),
            dispatcher.run(stop),
            _inbound(settings, outreach, stop),
        )
    finally:
        await publisher.stop()
        await session.close()
        await redis.aclose()


async def consume(settings: Settings, outreach: Outreach, stop: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(
        names.INCIDENTS,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"{settings.app_id}-outreach",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        session_timeout_ms=int(settings.session_timeout_s * 1000),
        heartbeat_interval_ms=int(max(1.0, settings.session_timeout_s / 5) * 1000),
    )
    await consumer.start()
    adapt_fetch_wait(consumer, settings.fetch_max_wait_ms, settings.fetch_idle_wait_ms)
    log.info("outreach: consuming %s", names.INCIDENTS)
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200)
            for messages in batches.values():
                for message in messages:
                    await _handle(outreach, message.value)
            if batches:
                await consumer.commit()
    finally:
        await consumer.stop()


async def _handle(outreach: Outreach, raw: bytes | None, retry_s: float = 1.0) -> None:
    """Apply one incident; while Redis is unreachable, retry it (the offset waits too)."""
    try:
        incident = decode_incident(raw or b"")
    except msgspec.DecodeError as error:
        log.warning("outreach: skipping an incident it cannot read: %s", error)
        return
    while True:
        try:
            await outreach.on_incident(incident)
            return
        except RedisError as error:
            log.warning("outreach: Redis unavailable (%s); retrying %s", error, incident.incident_id)
            await asyncio.sleep(retry_s)


async def _ticks(settings: Settings, outreach: Outreach, stop: asyncio.Event) -> None:
    case_store = CaseStore(outreach.redis, settings)
    while not stop.is_set():
        try:
            await outreach.tick()
            await escalate_due(outreach)
            await flush(outreach.redis, outreach.send_escalation)  # requests the broker did not take yet
            await remind_due(outreach)
            await resolve_due(outreach)
            await case_store.close_due(outreach.clock())
        except Exception:
            log.exception("outreach tick failed; going on")
        try:
            await asyncio.wait_for(stop.wait(), settings.outreach_tick_s)
        except TimeoutError:
            pass


async def _inbound(settings: Settings, outreach: Outreach, stop: asyncio.Event) -> None:
    """The inbound webhook (Twilio replies), when a port is configured."""
    if not settings.outreach_port:
        return
    from aiohttp import web

    from notifiers.inbound import create_app

    runner = web.AppRunner(create_app(settings, outreach))
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.outreach_host, settings.outreach_port).start()
    except OSError as error:
        log.error("outreach: inbound webhook cannot listen (%s); replies will not be taken", error)
        await runner.cleanup()
        return
    log.info("outreach: inbound webhook on %s:%d", settings.outreach_host, settings.outreach_port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


class FollowedRules:
    """The rule set in force, followed like the workers follow it (hot reload, never seeding)."""

    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        self.settings = settings
        self.rule_set: RuleSet | None = None
        self.reloader: RuleReloader | None = None
        try:
            self.rule_set = load_rule_dir(settings.rules_dir)
        except RuleError as error:
            log.error("outreach: rules refused (%s); default actions apply until a good set", error)
            return
        paging = bool(settings.escalation_levels or settings.page_routes)  # else nobody is paged at all
        for warning in undefined_routes(self.rule_set, settings.page_routes) if paging else ():
            log.warning("outreach: %s", warning)  # paged, but to escalation level 1
        self.reloader = RuleReloader(redis, self.rule_set, self._swap, report=False)

    def current(self) -> RuleSet | None:
        return self.rule_set

    def _swap(self, rule_set: RuleSet) -> None:
        self.rule_set = rule_set

    async def start(self) -> None:
        if self.reloader is not None:
            await self.reloader.start()

    async def follow(self, stop: asyncio.Event) -> None:
        while self.reloader is not None and not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.settings.rules_poll_s)
            except TimeoutError:
                await self.reloader.check()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop
