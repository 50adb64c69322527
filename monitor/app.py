"""The faust app: topics, the `trips` table, and thin agents that call the plain logic.

One agent reads the four co-partitioned input topics, so every event of one order is
handled by one worker, in order, with the order's state at hand (no repartition). A
timer fires deadlines on the wall clock, even when an order's stream has gone silent.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import faust
import msgspec
import redis.asyncio as aioredis
from faust.types import TP

from core import models, names
from core.checkin import StopEscalation, decode_escalation
from core.clock import now_ms
from core.incident_store import IncidentStore
from core.incidents import Incident, IncidentChange, encode_incident
from core.settings import Settings
from core.trip_log import TripLog
from monitor import deadletters, metrics
from monitor.contact_store import ContactStore
from monitor.deadlines import DeadlineQueue
from monitor.decoding import DAY_MS, BadEvent, DecodeLimits, decode_event
from monitor.durable import is_outage, until_done
from monitor.expiry import ExpiryQueue
from monitor.held import HeldEvent, HeldEvents, ends_trip
from monitor.memory_trim import MemoryTrim
from monitor.offsets import Verdict
from monitor.packed_states import PackedState, pack, unpack
from monitor.processor import Outcome, TripProcessor
from monitor.support import SupportContacts
from monitor.transport import LowLatencyTransport
from monitor.trip_log_writer import TripLogWriter
from monitor.trip_state import TripState, expires_at, trip_expired
from monitor.trip_table import trips_table
from monitor.unsaved import UnsavedPings
from monitor.watermarks import PartitionClocks
from monitor.worker_health import WorkerHealth
from rules.loader import RuleSet
from rules.reload import RuleReloader

log = logging.getLogger(__name__)

UNKNOWN = object()  # no deadline known (None: known to be none)
SWEEP_INTERVAL_MS = 5_000  # how often finished trips are looked for
SAVES_PER_TICK = 100  # checkpoint writes per deadline tick: faust's producer buffer holds 100
MEMORY_TRIM_S = 10.0  # how often freed C heap is given back to the system (monitor.memory_trim)
RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}


class TripwatchApp(faust.App):
    """faust.App that uses our low-latency transport (see monitor.transport)."""

    fetch_max_wait_ms: int = 10
    fetch_idle_wait_ms: int = 10  # see core.fetch_wait
    commit_cap: Callable[[TP], int | None] = staticmethod(lambda tp: None)  # see monitor.unsaved
    guarded_topics: frozenset[str] = frozenset()  # none of their records skipped (monitor.offsets)
    on_input_seek: Callable[[TP], None] = staticmethod(lambda tp: None)  # the consumer sought `tp`
    direct_judge: Callable[[Any], Awaitable[None]] | None = None  # see monitor.direct_drain
    direct_topics: frozenset[str] = frozenset()  # topics whose records go to `direct_judge`

    def _new_transport(self) -> Any:
        return LowLatencyTransport(self.conf.broker_consumer, self)


def processing_failed(error: Exception, limit: int = 500) -> str:
    """A dead letter's reason for an event whose judgement raised (bounded: errors may quote input)."""
    reason = f"processing failed: {type(error).__name__}: {error}"
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


def tripwatch_app(settings: Settings, app_id: str | None = None) -> TripwatchApp:
    """The faust app with Tripwatch's broker settings (the bench's no-op agent uses it too)."""
    s = settings
    app = TripwatchApp(
        app_id or s.app_id,
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
        # A fetch hands over at most this many records at once. Unbounded, a backlog came as one
        # batch of some 50,000 record objects, and the memory they took stayed with the worker
        # (pinned by the trips packed meanwhile): ~0.7 KB more per live trip at 20,000 trips.
        broker_max_poll_records=1000,
    )
    app.fetch_max_wait_ms = s.fetch_max_wait_ms
    app.fetch_idle_wait_ms = s.fetch_idle_wait_ms
    return app


class Monitor:
    """Owns the faust app and what its agents need: rules, Redis, the trip cache."""

    def __init__(self, settings: Settings, rules: RuleSet) -> None:
        self.settings = settings
        self.processor = TripProcessor(
            rules,
            settings.dedup_window,
            allowed_lateness_ms=int(settings.allowed_lateness_s * 1000),
            checkpoint_ms=int(settings.telemetry_checkpoint_s * 1000),
        )
        self.processor.on_condition_failure = lambda rule_id: metrics.CONDITION_FAILURES.labels(rule_id).inc()
        self._next_sweep_ms = 0
        self.limits = DecodeLimits(
            max_bytes=settings.max_event_bytes,
            max_age_ms=settings.max_event_age_days * DAY_MS,
            max_future_ms=settings.max_event_future_s * 1000,
        )
        self.redis = aioredis.from_url(settings.redis_dsn)
        self.incidents = IncidentStore(self.redis)
        self.trip_log = TripLogWriter(TripLog.from_settings(self.redis, settings))
        self.support = SupportContacts(
            ContactStore(self.redis, settings.helpdesk_webhook_url), self._raise_from_contact
        )
        self.reloader = RuleReloader(
            self.redis, rules, self._swap_rules, follow=settings.rules_from == "published"
        )
        self._rules_start: asyncio.Task[None] | None = None
        self.deadlines = DeadlineQueue()
        # order -> its next deadline as `_apply` left the state, taken (popped) by the next event
        # of the trip: worked out again per event, it was 4 % of the worker's CPU
        self._next_due: dict[str, int | None] = {}
        self.expiry = ExpiryQueue()  # when each cached trip may next be forgotten
        self.clocks = PartitionClocks(int(settings.partition_idle_s * 1000))
        self.cache: dict[str, TripState | PackedState] = {}
        self._unpacked: set[str] = set()  # trips in the cache as decoded states (_pack_idle)
        self.unsaved = UnsavedPings()
        self.held = HeldEvents()
        self.checkpoint_ms = int(settings.telemetry_checkpoint_s * 1000)
        self.memory = MemoryTrim()
        self.app = self._create_app()
        self._declare()
        self.health = WorkerHealth.attach(settings, self.redis, self.app)  # /healthz and /metrics

    def _create_app(self) -> TripwatchApp:
        app = tripwatch_app(self.settings)
        app.commit_cap = self._commit_cap
        app.guarded_topics = frozenset(names.INPUT_TOPICS)  # not `passengers`: compacted, it has gaps
        # What was read before a seek (records faust handed over during recovery, say, past the
        # committed offset) must not make the partition look read that far (false early_end).
        app.on_input_seek = lambda tp: self.clocks.rewind(tp.topic, tp.partition, now_ms())
        return app

    def _declare(self) -> None:
        app = self.app
        self.input_topic = app.topic(*names.INPUT_TOPICS, **RAW)
        self.passengers_topic = app.topic(names.PASSENGERS, **RAW)
        self.contacts_topic = app.topic(names.SUPPORT_CONTACTS, **RAW)
        self.escalations_topic = app.topic(names.CHECKIN_ESCALATIONS, **RAW)
        self.incidents_topic = app.topic(names.INCIDENTS, **RAW)
        self.dead_letter_topic = app.topic(names.DEAD_LETTERS, **RAW)
        self.trips = trips_table(app, self.settings.partitions, faust.Schema(**RAW))  # states, not bytes
        # The input topics have no agent: the fetch loop hands their records to the judge
        # itself (monitor.direct_drain); the conductor only subscribes to them.
        app.topics.add(self.input_topic)
        app.direct_topics = frozenset(names.INPUT_TOPICS)
        app.direct_judge = self._judge_record
        app.agent(self.passengers_topic, name="tripwatch.passengers")(self._passengers)
        app.agent(self.contacts_topic, name="tripwatch.contacts")(self._contacts)
        app.agent(self.escalations_topic, name="tripwatch.checkin-escalations")(self._checkin_escalations)
        app.task(self.trip_log.run)
        app.timer(5.0, name="tripwatch.contacts-retry")(self._retry_contacts)
        app.timer(self.settings.deadline_tick_s, name="tripwatch.clock")(self._tick)
        app.timer(5.0, name="tripwatch.metrics")(self._metrics_tick)
        app.timer(MEMORY_TRIM_S, name="tripwatch.memory-trim")(self._trim_memory)
        app.timer(self.settings.rules_poll_s, name="tripwatch.rules")(self._check_rules)
        app.on_rebalance_complete.connect(self._on_rebalance_complete)
        app.on_before_shutdown.connect(self._on_shutdown)

    # --- agents ---------------------------------------------------------------------

    async def _judge_record(self, message: Any) -> None:
        await self._judge_message(message, message.value)

    async def _judge_message(self, message: Any, raw: bytes | None) -> None:
        """One input message, whatever it holds: judged, or dead-lettered with the reason.

        Raises nothing: one agent serves every partition, so a message that crashed it would
        hold every trip back for faust's restart, and its offset would be committed unjudged.
        """
        verdict = self.app.consumer.take(message.tp, message.offset)
        if verdict is not Verdict.JUDGE:  # judged already, or past a hole read again (monitor.offsets)
            if verdict is Verdict.DONE:  # read, as far as the watermark is concerned
                self.clocks.skip(message.topic, message.partition, now_ms(), message.offset)
            return
        try:
            decoded = decode_event(message.topic, raw, self.limits, key=message.key)
        except BadEvent as error:
            self.clocks.skip(message.topic, message.partition, now_ms(), message.offset)
            await self._dead_letter(message, raw, str(error))
            return
        order_id = getattr(decoded, "order_id", None)
        if order_id is not None:  # one string per trip in every map keyed by it, not one per event
            msgspec.structs.force_setattr(decoded, "order_id", sys.intern(order_id))
        try:
            await self._judge(message, decoded)
        except Exception as error:  # a bug this event provokes: record it, keep the stream going
            log.exception("judging %s[%d]@%d failed", message.topic, message.partition, message.offset)
            metrics.PROCESSING_FAILURES.labels(message.topic).inc()
            self.clocks.skip(message.topic, message.partition, now_ms(), message.offset)
            await self._dead_letter(message, raw, processing_failed(error))

    async def _judge(self, message: Any, event: models.InputEvent) -> None:
        metrics.count_event(message.topic)
        await self.trip_log.add(event, message.tp, message.offset)  # written by its own task
        self.clocks.observe(message.topic, message.partition, event.ts, now_ms(), message.offset)
        await self._judge_event(HeldEvent(event, message.tp, message.offset), message.partition)

    async def _judge_event(self, source: HeldEvent, partition: int, force: bool = False) -> None:
        event = source.event
        saved = await self.handle(event, partition, source=None if force else source)
        if not saved and isinstance(event, models.TelemetryPing):
            self.unsaved.hold(event.order_id, source.tp, source.offset, now_ms())

    async def _passengers(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            try:
                passenger = decode_event(message.topic, event.value, self.limits, key=message.key)
            except BadEvent as error:
                await self._dead_letter(message, event.value, str(error))
                continue
            key = names.passenger_key(passenger.passenger_id)
            encoded = msgspec.json.encode(passenger)
            await until_done(lambda: self.redis.set(key, encoded), "storing a passenger")  # noqa: B023
            self.processor.passengers.put(passenger.passenger_id, msgspec.to_builtins(passenger))

    async def _contacts(self, stream: faust.StreamT[bytes]) -> None:
        """Support contacts (monitor.support): matched through Redis, so not co-partitioned."""
        async for event in stream.events():
            message = event.message
            try:
                contact = decode_event(message.topic, event.value, self.limits, key=message.key)
            except BadEvent as error:
                await self._dead_letter(message, event.value, str(error))
                continue
            metrics.EVENTS.labels(message.topic).inc()
            try:
                await until_done(partial(self.support.on_contact, contact, now_ms()), "matching a contact")
            except Exception as error:  # a bug this contact provokes: record it, keep the stream going
                log.exception("matching contact %s failed", contact.event_id)
                metrics.PROCESSING_FAILURES.labels(message.topic).inc()
                await self._dead_letter(message, event.value, processing_failed(error))

    async def _checkin_escalations(self, stream: faust.StreamT[bytes]) -> None:
        """Outreach escalated a stop check-in (core/checkin.py): the trip's long_stop opens now.
        Co-partitioned with the input, so this worker holds the trip's state."""
        async for event in stream.events():
            message = event.message
            try:
                request = decode_escalation(event.value or b"")
            except msgspec.DecodeError as error:
                await self._dead_letter(message, event.value, f"not a check-in escalation: {error}")
                continue
            metrics.EVENTS.labels(message.topic).inc()
            try:
                await self._escalate_stop(request)
            except Exception as error:  # a bug this request provokes: record it, keep the stream going
                log.exception("escalating the stop check-in of %s failed", request.order_id)
                metrics.PROCESSING_FAILURES.labels(message.topic).inc()
                await self._dead_letter(message, event.value, processing_failed(error))

    async def _escalate_stop(self, request: StopEscalation) -> None:
        await self._ensure_rules()
        state = self._cached_state(request.order_id)
        if state is None:  # no trip of this worker's: nothing stands still here
            log.warning("%s: stop check-in escalated for a trip this worker does not hold", request.order_id)
            return
        await self._apply(state, self.processor.on_stop_escalation(state, request))

    async def _retry_contacts(self) -> None:
        try:
            await self.support.store.retry_unmatched(now_ms())
        except Exception as error:  # a poll; the next one comes within seconds
            if not is_outage(error):  # a bug must not stop the timer, nor the worker with it
                log.exception("retrying unmatched contacts failed")
                return
            log.debug("contact retry skipped: %s", error)

    async def _raise_from_contact(self, change: IncidentChange) -> None:
        await self._apply_change(change)

    async def _tick(self) -> None:
        now = now_ms()
        event_time = self._event_time_at(now)
        for order_id in self.deadlines.pop_due(now, event_time):
            state = self._cached_state(order_id)
            if state is None or self.held.holding(order_id):
                continue  # a held trip's deadlines are judged before its events go on (_release_held)
            due = self.processor.next_deadline(state)
            if due is None:
                continue
            if due > now:
                self.deadlines.push(due, order_id)  # moved later since it was queued
                continue
            read_to = event_time(state.partition)
            if due > read_to:
                self.deadlines.park(due, order_id, state.partition)  # not read that far yet
                continue
            try:
                await self._apply(state, self.processor.on_clock(state, now, read_to))
            except Exception:  # a bug in one trip's deadline must not stop every other trip's clock
                log.exception("judging the deadline of %s failed", order_id)
        await self._release_held(now)
        self._save_overdue(now)
        self._drop_expired(now)
        self._pack_idle()

    def _event_time_at(self, now: int) -> Callable[[int], int]:
        """Each partition's event time as of `now`, worked out once per tick: reads during the
        tick only move it forward, so a cached one is at worst a little behind (fires later,
        never early); a restart or seek, which may move it back, clears the cache."""
        cache: dict[int, int] = {}
        generation = self.clocks.generation

        def event_time(partition: int) -> int:
            nonlocal generation
            if generation != self.clocks.generation:
                cache.clear()
                generation = self.clocks.generation
            if partition not in cache:
                cache[partition] = self.clocks.event_time(partition, now, self._highwater, self._position)
            return cache[partition]

        return event_time

    def _save_overdue(self, now: int) -> None:
        """Trips that have held unsaved pings for a checkpoint interval are written now, so that
        their partitions' offsets can be committed even if the trip says nothing more."""
        # At most a producer buffer's worth per tick: trips that began holding together (a
        # burst of load) would otherwise all be written in one tick, and the table's changelog
        # sends would hold the stream and every incident's publication behind them.
        for order_id in self.unsaved.overdue(now, self.checkpoint_ms)[:SAVES_PER_TICK]:
            state = self._cached_state(order_id) if order_id in self.cache else None
            if state is None:
                self.unsaved.release(order_id)
                continue
            state.checkpoint_ts = state.last_ping_ts
            self._save(state)

    def _highwater(self, topic: str, partition: int) -> int | None:
        """The broker's high-water mark of an assigned topic-partition as last fetched, None if unknown."""
        try:
            return self.app.consumer.highwater(TP(topic, partition))
        except Exception:  # not assigned (any more) or not fetched yet: the watermark falls back to time
            return None

    def _position(self, topic: str, partition: int) -> int | None:
        """Where the consumer reads the topic-partition next (after a seek) or last delivered."""
        return self.app.consumer.read_position(TP(topic, partition))

    async def _trim_memory(self) -> None:
        self.memory.trim()

    async def _metrics_tick(self) -> None:
        metrics.update_consumer_lag(self.app.consumer)

    # --- the logic's effects ------------------------------------------------------------

    async def handle(self, event: models.InputEvent, partition: int, source: HeldEvent | None = None) -> bool:
        """Judge one event; True when the trip's state (with this event's effect) was written, or
        when, given its `source`, the event is held until a deadline it passes is judged."""
        await self._ensure_rules()
        if isinstance(event, models.OrderCreated) and event.passenger_id not in self.processor.passengers:
            await until_done(lambda: self._load_passenger(event.passenger_id), "loading a passenger")
        # GPS pings mostly change nothing a restart needs: the processor says when the
        # table must be written (see TripProcessor._on_ping), so most pings cost no write.
        state = self._state(event.order_id, partition)
        if source is not None and not await self._may_go_on(state, event.ts, ends_trip(event)):
            # Only what comes after the deadline waits: an earlier event (the pings that trail
            # a trip's completion while telemetry catches up) goes on, and may move the deadline.
            self.held.hold(state.order_id, source, now_ms())
            return True
        event_time = None
        if isinstance(event, models.TripStarted | models.TripRerouted):  # pings read before it replay
            event_time = self.clocks.event_time(partition, now_ms(), self._highwater, self._position)
        saved = await self._apply(state, self.processor.on_event(state, event, event_time))
        if source is not None:
            await self._fire_due_now(state)
        return saved

    async def _ensure_rules(self) -> None:
        if self._rules_start is None or not self._rules_start.done() or self._rules_start.exception():
            await until_done(self._start_rules, "loading the published rule set")  # judge nothing before

    async def _may_go_on(self, state: TripState, event_ts: int, ending: bool) -> bool:
        """Whether an event may be applied now (else it waits, monitor.held): the deadlines it
        comes after are judged, and an end of the trip waits until its partition is read to it."""
        if ending:
            event_time = self.clocks.event_time(state.partition, now_ms(), self._highwater, self._position)
            if event_time < event_ts:
                return False
        return await self._fire_passed_deadlines(state, event_ts)

    async def _fire_due_now(self, state: TripState) -> None:
        """A deadline the event left already due (an order read after its promised pickup) is
        judged now, as the next tick would, instead of up to a tick later."""
        now = now_ms()
        queued = self.deadlines.earliest(state.order_id)  # _apply queued the deadline: no refresh per event
        if queued is None or queued > now or self.held.holding(state.order_id):
            return
        due = self.processor.next_deadline(state)
        if due is None or due > now:
            return
        event_time = self.clocks.event_time(state.partition, now, self._highwater, self._position)
        if due <= event_time:
            await self._apply(state, self.processor.on_clock(state, now, event_time))

    async def _fire_passed_deadlines(self, state: TripState, event_ts: int) -> bool:
        """An event from beyond a deadline shows, once its partition is read that far, that the
        deadline passed in event time: judge it first, so the event (the ping that ends a long
        stop, say) cannot clear a condition that had already lasted too long. False when the
        partition is not read that far yet: the event must wait (monitor.held)."""
        due = self._next_due.pop(state.order_id, UNKNOWN)  # the state is as `_apply` left it
        if due is UNKNOWN:
            due = self.processor.next_deadline(state)
        if due is None or due > event_ts:
            return True
        now = now_ms()
        event_time = self.clocks.event_time(state.partition, now, self._highwater, self._position)
        if due > event_time:
            return False
        # judged as of the event: a later deadline may still be moved by the event itself
        await self._apply(state, self.processor.on_clock(state, now, min(event_time, event_ts)))
        return True

    async def _release_held(self, now: int) -> None:
        """Trips whose held events may go on: the deadline they waited for was judged (or can be
        now), or they waited too long and are let through as they are."""
        for order_id in self.held.orders():
            state = self._cached_state(order_id)
            forced = state is None or self.held.overdue(order_id, now)
            if not forced and not await self._may_release(state, order_id):
                continue
            if forced:
                metrics.HELD_RELEASED_UNJUDGED.inc()
                log.warning("%s: events held past a deadline released unjudged", order_id)
            for held in self.held.release(order_id):
                await self._judge_event(held, held.tp.partition, force=forced)

    async def _may_release(self, state: TripState, order_id: str) -> bool:
        if not await self._fire_passed_deadlines(state, self.held.first_ts(order_id)):
            return False
        ending_ts = self.held.ending_ts(order_id)
        return ending_ts is None or await self._may_go_on(state, ending_ts, ending=True)

    async def _apply(self, state: TripState, outcome: Outcome) -> bool:
        for change in outcome.changes:
            await until_done(partial(self._apply_change, change), f"raising {change.order_id}:{change.kind}")
        if outcome.state_changed:
            self._save(state)
        due = self.processor.next_deadline(state)
        if due is not None:
            self.deadlines.push(due, state.order_id)
        self._next_due[state.order_id] = due
        return outcome.state_changed

    async def _apply_change(self, change: IncidentChange) -> None:
        # A retry after a failure is harmless: the change is computed again against what
        # Redis holds, and a publication repeated with the same revision is de-duplicated.
        await self.trip_log.flush()  # outreach reads the trip's facts from the log
        await self.incidents.apply(change, now_ms(), before_commit=self._publish)

    def _commit_cap(self, tp: TP) -> int | None:
        """Commit no offset whose effect is not written yet: unsaved pings, held events, the trip log."""
        held = (self.unsaved.commit_cap(tp), self.held.commit_cap(tp), self.trip_log.commit_cap(tp))
        caps = [cap for cap in held if cap is not None]
        return min(caps, default=None)

    def _save(self, state: TripState) -> None:
        """Write the trip's state to the table; the pings it now reflects may be committed."""
        self.trips[state.order_id.encode()] = state  # encoded for the changelog (monitor.trip_table)
        self.unsaved.release(state.order_id)

    async def _publish(self, incident: Incident) -> None:
        # Sent and acknowledged before the Redis commit: a crash in between replays the
        # change, which publishes the same revision again (consumers de-duplicate on it)
        # instead of losing it. Only this message is awaited: a flush of the producer's buffer
        # waited for every table write queued before it (a burst of new trips held an incident
        # for seconds: the p99 outlier of issue 14).
        sent = await self.incidents_topic.send(
            key=incident.incident_id.encode(), value=encode_incident(incident)
        )
        await sent
        metrics.observe_incident(incident, now_ms())

    async def _dead_letter(self, message: Any, raw: bytes | None, reason: str) -> None:
        log.warning("dead letter %s[%d]@%d: %s", message.topic, message.partition, message.offset, reason)
        metrics.DEAD_LETTERS.labels(message.topic).inc()
        letter = deadletters.dead_letter(
            message.topic, message.partition, message.offset, message.key, raw, reason, now_ms()
        )
        encoded = deadletters.encode(letter)
        key = deadletters.bounded_key(message.key)

        async def send_and_wait() -> None:  # the letter is on the broker before the offset moves on
            await (await self.dead_letter_topic.send(key=key, value=encoded))

        await until_done(send_and_wait, "writing a dead letter")

    # --- trip state: cache in front of the table ------------------------------------------
    # A trip in the cache is its decoded state while the worker uses it, and packed between
    # its events (monitor.packed_states): `_pack_idle` packs, `_cached_state` unpacks.

    def _state(self, order_id: str, partition: int) -> TripState:
        state = self._cached_state(order_id)
        if state is None:
            state = TripState(order_id=order_id, partition=partition)
            self._cache(state)
        return state

    def _cached_state(self, order_id: str) -> TripState | None:
        held = self.cache.get(order_id)
        if type(held) is PackedState:
            state = unpack(held, order_id)
            self.cache[state.order_id] = state
            self._unpacked.add(state.order_id)
            self.trips.keep_unpacked(state.order_id.encode(), held, state)
            return state
        if held is None:
            state = self.trips.trip(order_id.encode())
            if state is not None:
                self._cache(state)
            return state
        return held  # type: ignore[return-value]

    def _peek(self, order_id: str) -> TripState | None:
        """The trip's state to read (not to change): the cache left as it is."""
        held = self.cache.get(order_id)
        return unpack(held, order_id) if type(held) is PackedState else held  # type: ignore[return-value]

    def _cache(self, state: TripState) -> None:
        self.cache[state.order_id] = state
        self._unpacked.add(state.order_id)
        self._schedule_expiry(state, now_ms())

    def _pack_idle(self) -> None:
        """Pack every unpacked trip nobody is using: a trip waiting for its next event costs its
        packed bytes only. In use means referenced from elsewhere than the cache and the table
        (a coroutine between two awaits, say): such a trip is left for the next tick, so that
        no change made to it can be lost."""
        for order_id in list(self._unpacked):
            state = self.cache.get(order_id)
            if type(state) is not TripState:
                self._unpacked.discard(order_id)
                continue
            key = order_id.encode()
            in_table = self.trips.holds(key, state)
            # the cache's reference, the table's, `state` and getrefcount's own argument
            if sys.getrefcount(state) > 3 + in_table:
                continue
            packed = pack(state)
            self.cache[order_id] = packed
            if in_table:
                self.trips.keep_unpacked(key, state, packed)
            self._unpacked.discard(order_id)

    def _schedule_expiry(self, state: TripState, now: int) -> None:
        retention_ms = int(self.settings.trip_retention_s * 1000)
        idle_ms = int(self.settings.trip_idle_timeout_s * 1000)
        self.expiry.push(expires_at(state, now, retention_ms, idle_ms), state.order_id)

    def _drop_expired(self, now: int) -> None:
        """Forget finished (or long silent) trips after the retention window: memory stays bounded.
        Only trips whose time may have come are looked at (monitor.expiry)."""
        if now < self._next_sweep_ms:
            return
        self._next_sweep_ms = now + SWEEP_INTERVAL_MS
        retention_ms = int(self.settings.trip_retention_s * 1000)
        idle_ms = int(self.settings.trip_idle_timeout_s * 1000)
        dropped = 0
        for order_id in self.expiry.pop_due(now):
            state = self._peek(order_id)
            if state is None:
                continue  # dropped already, or moved to another worker
            if not trip_expired(state, now, retention_ms, idle_ms):
                self._schedule_expiry(state, now)  # it heard something since: look again later
                continue
            self._forget(order_id)
            dropped += 1
        if dropped:
            log.info("dropped the state of %d finished trips", dropped)

    def _forget(self, order_id: str) -> None:
        del self.cache[order_id]
        self._unpacked.discard(order_id)
        self._next_due.pop(order_id, None)
        self.unsaved.release(order_id)  # nothing more will be judged of it
        self.trip_log.forget(order_id)
        key = order_id.encode()
        if key in self.trips:
            del self.trips[key]  # a tombstone in the changelog

    async def _on_rebalance_complete(self, sender: Any = None, **_: Any) -> None:
        """Partitions moved: forget trips we no longer own, re-arm deadlines of the rest."""
        owned = {tp.partition for tp in self.app.consumer.assignment() if tp.topic in names.INPUT_TOPICS}
        states = {order_id: self._peek(order_id) for order_id in self.cache}
        self.cache = {k: v for k, v in self.cache.items() if states[k].partition in owned}  # type: ignore[union-attr]
        self._unpacked &= self.cache.keys()
        self.deadlines.clear()
        self._next_due.clear()
        self.unsaved.keep_only(owned)
        self.held.clear()  # uncommitted: read again from the committed offsets
        self.clocks.restart(names.INPUT_TOPICS, owned, now_ms())
        for key in list(self.trips.keys()):
            if key.decode() not in self.cache:
                state = self.trips.peek(key)  # a standby copy stays encoded
                if state is not None and state.partition in owned:
                    self.trips.keep(key, state)
                    self._cache(state)
        self.expiry.clear()
        now = now_ms()
        for order_id in self.cache:
            state = self._peek(order_id)
            self._schedule_expiry(state, now)
            due = self.processor.next_deadline(state)
            if due is not None:
                self.deadlines.push(due, state.order_id)
        log.info(
            "rebalanced: %d partitions, %d trips, %d deadlines",
            len(owned),
            len(self.cache),
            len(self.deadlines),
        )

    # --- the rule set: published in Redis, swapped in whole (rules/reload.py) ---------------

    async def _start_rules(self) -> None:
        if self._rules_start is None or (self._rules_start.done() and self._rules_start.exception()):
            self._rules_start = asyncio.ensure_future(self.reloader.start())
        await asyncio.shield(self._rules_start)

    async def _check_rules(self) -> None:
        try:
            if self._rules_start is None or not self._rules_start.done() or self._rules_start.exception():
                await self._start_rules()
            else:
                await self.reloader.check()
        except Exception as error:  # a poll; the next one comes within seconds
            if not is_outage(error):
                raise
            log.debug("rule set poll skipped: %s", error)

    def _swap_rules(self, rules: RuleSet) -> None:
        self.processor.rules = rules  # one assignment between two events: never a mixed set
        self._next_due.clear()  # the new rules may move every deadline

    async def _load_passenger(self, passenger_id: str) -> None:
        raw = await self.redis.get(names.passenger_key(passenger_id))
        if raw is not None:
            self.processor.passengers.put(passenger_id, msgspec.json.decode(raw))

    async def _on_shutdown(self, sender: Any = None, **_: Any) -> None:
        await self.reloader.forget()
        await self.redis.aclose()
