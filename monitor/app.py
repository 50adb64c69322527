"""The faust app: topics, the `trips` table, and thin agents that call the plain logic.

One agent reads the four co-partitioned input topics, so every event of one order is
handled by one worker, in order, with the order's state at hand (no repartition). A
timer fires deadlines on the wall clock, even when an order's stream has gone silent.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import faust
import msgspec
import redis.asyncio as aioredis

from monitor import deadletters, models, names
from monitor.deadlines import DeadlineQueue
from monitor.decoding import DAY_MS, BadEvent, DecodeLimits, decode_event
from monitor.incident_store import IncidentStore
from monitor.incidents import Incident, encode_incident
from monitor.processor import Outcome, TripProcessor
from monitor.settings import Settings
from monitor.transport import LowLatencyTransport
from monitor.trip_state import TripState, decode_state, encode_state
from rules.loader import RuleSet

log = logging.getLogger(__name__)

RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}


class TripwatchApp(faust.App):
    """faust.App that uses our low-latency transport (see monitor.transport)."""

    fetch_max_wait_ms: int = 10

    def _new_transport(self) -> Any:
        return LowLatencyTransport(self.conf.broker_consumer, self)


def now_ms() -> int:
    return int(time.time() * 1000)


class Monitor:
    """Owns the faust app and what its agents need: rules, Redis, the trip cache."""

    def __init__(self, settings: Settings, rules: RuleSet) -> None:
        self.settings = settings
        self.processor = TripProcessor(rules, settings.dedup_window)
        self.limits = DecodeLimits(
            max_bytes=settings.max_event_bytes,
            max_age_ms=settings.max_event_age_days * DAY_MS,
            max_future_ms=settings.max_event_future_s * 1000,
        )
        self.redis = aioredis.from_url(settings.redis_dsn)
        self.incidents = IncidentStore(self.redis)
        self.deadlines = DeadlineQueue()
        self.cache: dict[str, TripState] = {}
        self.app = self._create_app()
        self._declare()

    def _create_app(self) -> TripwatchApp:
        s = self.settings
        app = TripwatchApp(
            s.app_id,
            broker=s.faust_broker,
            store="memory://",
            topic_partitions=s.partitions,
            topic_replication_factor=1,
            broker_session_timeout=s.session_timeout_s,
            broker_heartbeat_interval=max(1.0, s.session_timeout_s / 5),
            broker_request_timeout=max(40.0, s.session_timeout_s * 2),
            consumer_auto_offset_reset="earliest",
            web_enabled=False,
            producer_linger_ms=1,
            table_cleanup_interval=60.0,
        )
        app.fetch_max_wait_ms = s.fetch_max_wait_ms
        return app

    def _declare(self) -> None:
        app = self.app
        self.input_topic = app.topic(*names.INPUT_TOPICS, **RAW)
        self.passengers_topic = app.topic(names.PASSENGERS, **RAW)
        self.incidents_topic = app.topic(names.INCIDENTS, **RAW)
        self.dead_letter_topic = app.topic(names.DEAD_LETTERS, **RAW)
        self.trips = app.Table(
            "trips",
            default=None,
            partitions=self.settings.partitions,
            use_partitioner=True,
            schema=faust.Schema(**RAW),
        )
        app.agent(self.input_topic, name="tripwatch.detect")(self._detect)
        app.agent(self.passengers_topic, name="tripwatch.passengers")(self._passengers)
        app.timer(self.settings.deadline_tick_s, name="tripwatch.clock")(self._tick)
        app.on_rebalance_complete.connect(self._on_rebalance_complete)
        app.on_before_shutdown.connect(self._on_shutdown)

    # --- agents ---------------------------------------------------------------------

    async def _detect(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            try:
                decoded = decode_event(message.topic, event.value, self.limits)
            except BadEvent as error:
                await self._dead_letter(message, event.value, str(error))
                continue
            await self.handle(decoded, message.partition)

    async def _passengers(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            try:
                passenger = decode_event(message.topic, event.value, self.limits)
            except BadEvent as error:
                await self._dead_letter(message, event.value, str(error))
                continue
            await self.redis.set(names.passenger_key(passenger.passenger_id), msgspec.json.encode(passenger))

    async def _tick(self) -> None:
        now = now_ms()
        for order_id in self.deadlines.pop_due(now):
            state = self._cached_state(order_id)
            if state is None:
                continue
            due = self.processor.next_deadline(state)
            if due is None:
                continue
            if due > now:
                self.deadlines.push(due, order_id)  # moved later since it was queued
                continue
            await self._apply(state, self.processor.on_clock(state, now))

    # --- the logic's effects ------------------------------------------------------------

    async def handle(self, event: models.InputEvent, partition: int) -> None:
        if isinstance(event, models.TelemetryPing | models.PaymentEvent | models.SafetySignal):
            return  # no built-in rule reads these yet
        state = self._state(event.order_id, partition)
        await self._apply(state, self.processor.on_trip_event(state, event))

    async def _apply(self, state: TripState, outcome: Outcome) -> None:
        for change in outcome.changes:
            await self.incidents.apply(change, now_ms(), before_commit=self._publish)
        if outcome.state_changed:
            self.trips[state.order_id.encode()] = encode_state(state)
        due = self.processor.next_deadline(state)
        if due is not None:
            self.deadlines.push(due, state.order_id)

    async def _publish(self, incident: Incident) -> None:
        # Sent and acknowledged before the Redis commit: a crash in between replays the
        # change, which publishes the same revision again (consumers de-duplicate on it)
        # instead of losing it.
        await self.incidents_topic.send_soon(
            key=incident.incident_id.encode(), value=encode_incident(incident)
        )
        await self.app.producer.flush()

    async def _dead_letter(self, message: Any, raw: bytes | None, reason: str) -> None:
        log.warning("dead letter %s[%d]@%d: %s", message.topic, message.partition, message.offset, reason)
        letter = deadletters.dead_letter(
            message.topic, message.partition, message.offset, message.key, raw, reason, now_ms()
        )
        await self.dead_letter_topic.send(key=message.key, value=deadletters.encode(letter))

    # --- trip state: cache in front of the table ------------------------------------------

    def _state(self, order_id: str, partition: int) -> TripState:
        state = self._cached_state(order_id)
        if state is None:
            state = TripState(order_id=order_id, partition=partition)
            self.cache[order_id] = state
        return state

    def _cached_state(self, order_id: str) -> TripState | None:
        state = self.cache.get(order_id)
        if state is None:
            raw = self.trips.get(order_id.encode())
            if raw is not None:
                state = self.cache[order_id] = decode_state(raw)
        return state

    async def _on_rebalance_complete(self, sender: Any = None, **_: Any) -> None:
        """Partitions moved: forget trips we no longer own, re-arm deadlines of the rest."""
        owned = {tp.partition for tp in self.app.consumer.assignment() if tp.topic in names.INPUT_TOPICS}
        self.cache = {k: v for k, v in self.cache.items() if v.partition in owned}
        self.deadlines.clear()
        for key, raw in list(self.trips.items()):
            state = decode_state(raw)
            if state.partition in owned:
                self.cache.setdefault(key.decode(), state)
        for state in self.cache.values():
            due = self.processor.next_deadline(state)
            if due is not None:
                self.deadlines.push(due, state.order_id)
        log.info(
            "rebalanced: %d partitions, %d trips, %d deadlines",
            len(owned),
            len(self.cache),
            len(self.deadlines),
        )

    async def _on_shutdown(self, sender: Any = None, **_: Any) -> None:
        await self.redis.aclose()
