"""The input topics' records go straight from the fetch loop to the worker's judge.

faust hands each record to an agent through four tasks and an `asyncio.wait` (its fetch loop's
`wait_first`), a channel queue and the stream's iterator: where a no-op agent's CPU goes
(bench/pipeline.py, docs/architecture.md, "The hot path"). For the input topics, where
the volume is, the loop below calls the judge itself and acknowledges the record once it is
judged. Every other topic (passengers, contacts, the tables' changelogs) takes faust's path.

What faust's path guaranteed is kept: the producer's buffer holds the judge back when full;
nothing is handed over while the flow is suspended (a rebalance) or from an earlier consumer
generation (faust reads those records again after its seek to the committed offsets); each
record is tracked as unacknowledged until judged, so a commit never passes it and a shutdown
waits for it; the read offset moves on only after it.

The loop is faust-streaming 0.15.3's `Consumer._drain_messages`, with that one branch added.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from faust.transport.consumer import CONSUMER_FETCHING
from faust.types import TP, Message

log = logging.getLogger(__name__)

Judge = Callable[[Message], Awaitable[None]]
YIELD_EVERY = 100  # records between yields to the event loop, as faust does


async def drain_messages(consumer: Any, fetcher: Any, judge: Judge, direct_topics: frozenset[str]) -> None:
    """Read batches until the consumer or the fetcher stops; see the module's docstring."""
    should_stop = consumer._stopped.is_set
    fetcher_should_stop = fetcher._stopped.is_set
    try:
        while not (should_stop() or fetcher_should_stop()):
            consumer.diag.set_flag(CONSUMER_FETCHING)
            await asyncio.sleep(0)  # faust: getmany may return at once, again and again
            if not consumer.should_stop:
                await _drain_batch(consumer, judge, direct_topics)
            consumer.diag.unset_flag(CONSUMER_FETCHING)
    except consumer.consumer_stopped_errors:
        if not consumer.transport.app.should_stop:
            raise
        log.info("the broker stopped the consumer; shutting down")
    except asyncio.CancelledError:
        if not consumer.transport.app.should_stop:
            raise
    finally:
        consumer.diag.unset_flag(CONSUMER_FETCHING)


async def _drain_batch(consumer: Any, judge: Judge, direct_topics: frozenset[str]) -> None:
    read_offset = consumer._read_offset
    since_yield = 0
    async for tp, message in consumer.getmany(timeout=1.0):
        since_yield += 1
        if since_yield > YIELD_EVERY:
            await asyncio.sleep(0)
            since_yield = 0
        r_offset = read_offset.get(tp)
        if r_offset is not None and message.offset < r_offset:
            continue  # read already: faust drops it too
        await _before_delivery(consumer, message, r_offset)
        if tp.topic in direct_topics:
            await _judge_direct(consumer, judge, message)
        else:
            await consumer.wait_first(consumer.callback(message), consumer.suspend_flow.wait())
        read_offset[tp] = message.offset


async def _before_delivery(consumer: Any, message: Message, r_offset: int | None) -> None:
    """faust's bookkeeping before any record is handed over: gaps in the offsets count as
    acknowledged (compacted topics), and a commit every `commit_every` acknowledgements."""
    tp: TP = message.tp
    if r_offset and message.offset - r_offset > 1 and consumer.app.topics.acks_enabled_for(tp.topic):
        await consumer._add_gap(tp, r_offset + 1, message.offset)
    if consumer._commit_every is not None and consumer._n_acked >= consumer._commit_every:
        consumer._n_acked = 0
        await consumer.commit()


async def _judge_direct(consumer: Any, judge: Judge, message: Message) -> None:
    # As faust's conductor does before a record goes to a stream: table writes queue in the
    # producer's buffer without waiting, so the judge waits here while the buffer is too full.
    await consumer.app.producer.buffer.wait_until_ebb()
    if not _current(consumer.app, message):
        return  # a rebalance is under way: read again after faust's seek (as its streams skip it)
    message.tracked = True
    consumer._unacked_messages.add(message)  # what Consumer.track_message does, but its sensors
    try:
        await judge(message)
    except Exception:  # the judge records its own failures: this is a bug in that bookkeeping
        log.exception("judging %s[%d]@%d raised", message.topic, message.partition, message.offset)
        consumer._unacked_messages.discard(message)
        return  # unacknowledged: the partition is not committed past it
    consumer.ack(message)


def _current(app: Any, message: Message) -> bool:
    """The flow is on and the record is of the consumer's current generation."""
    return bool(app.flow_control.is_active()) and message.generation_id == app.consumer_generation_id
