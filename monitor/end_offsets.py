"""The true end offsets of partitions, where the embedded broker under-reports them.

Tansu answers ListOffsets(latest) with the base offset of a partition's last record batch plus
one: when that batch holds several records (two table writes sent together, say), the end it
reports leaves out all but the first of them (measured: acked offsets 1, 2, 3 in one batch, end
offset 2). faust restores a table's changelog up to that end, so a trip's last state, written in
such a batch, was never restored; its events were committed already, so the restarted worker
never learnt of them and never fired the trip's deadlines. A fetch response carries the right
high-water mark, so one fetch from the reported end's last record tells the true end.
A real Kafka cluster reports the right end; the fetch then just confirms it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import aiokafka
from aiokafka import TopicPartition

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 5.0


async def true_ends(
    bootstrap_servers: list[str], reported: Mapping[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """`reported` ends, each raised to the high-water mark a fetch from its last record returns."""
    ends = dict(reported)
    tails = {tp: end - 1 for tp, end in reported.items() if end is not None and end > 0}
    if not tails:
        return ends
    reader = aiokafka.AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=50
    )
    await reader.start()
    try:
        reader.assign(list(tails))
        for tp, offset in tails.items():
            reader.seek(tp, offset)
        await asyncio.wait_for(_fetch_each(reader, set(tails)), FETCH_TIMEOUT_S)
        for tp in tails:
            highwater = reader.highwater(tp)
            if highwater is not None and highwater > ends[tp]:
                log.info(
                    "%s[%d]: the broker reported end offset %d, a fetch says %d",
                    tp.topic,
                    tp.partition,
                    ends[tp],
                    highwater,
                )
                ends[tp] = highwater
    finally:
        await reader.stop()
    return ends


async def _fetch_each(reader: aiokafka.AIOKafkaConsumer, waiting: set[TopicPartition]) -> None:
    while waiting:
        fetched = await reader.getmany(*waiting, timeout_ms=200)
        waiting -= {tp for tp, records in fetched.items() if records}
