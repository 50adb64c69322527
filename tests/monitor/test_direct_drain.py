"""The input topics' records go straight to the judge (monitor.direct_drain): what faust's
streams did for them is kept: no judging during a rebalance or for an earlier consumer
generation, acknowledged only once judged, never acknowledged when the judge raised."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from faust.types import TP

from monitor.direct_drain import _judge_direct


@dataclass
class FlowControl:
    active: bool = True

    def is_active(self) -> bool:
        return self.active


class Buffer:
    def __init__(self) -> None:
        self.waited = 0

    async def wait_until_ebb(self) -> None:
        self.waited += 1


@dataclass
class Producer:
    buffer: Buffer = field(default_factory=Buffer)


@dataclass
class App:
    flow_control: FlowControl = field(default_factory=FlowControl)
    consumer_generation_id: int = 3
    producer: Producer = field(default_factory=Producer)


@dataclass(eq=False)  # hashed by identity, as faust's messages are
class Record:
    offset: int
    generation_id: int = 3
    tracked: bool = False
    tp: TP = TP("trip-events", 0)
    topic: str = "trip-events"
    partition: int = 0


@dataclass
class Consumer:
    app: App = field(default_factory=App)
    _unacked_messages: set[Any] = field(default_factory=set)
    acked: list[int] = field(default_factory=list)

    def ack(self, message: Record) -> bool:
        self._unacked_messages.discard(message)
        self.acked.append(message.offset)
        return True


class Judge:
    def __init__(self, consumer: Consumer, fail: bool = False) -> None:
        self.consumer, self.fail, self.judged = consumer, fail, []
        self.unacked_while_judged: list[bool] = []

    async def __call__(self, message: Any) -> None:
        self.unacked_while_judged.append(message in self.consumer._unacked_messages)
        self.judged.append(message.offset)
        if self.fail:
            raise RuntimeError("a bug")


def run(consumer: Consumer, judge: Judge, record: Record) -> None:
    asyncio.run(_judge_direct(consumer, judge, record))


def test_a_record_is_judged_while_tracked_then_acknowledged() -> None:
    consumer = Consumer()
    judge = Judge(consumer)
    run(consumer, judge, Record(7))
    assert judge.judged == [7] and judge.unacked_while_judged == [True]  # a commit cannot pass it
    assert consumer.acked == [7] and not consumer._unacked_messages
    assert consumer.app.producer.buffer.waited == 1  # held back while table writes queue


def test_nothing_is_judged_or_acknowledged_during_a_rebalance() -> None:
    consumer = Consumer()
    consumer.app.flow_control.active = False
    judge = Judge(consumer)
    run(consumer, judge, Record(7))
    assert judge.judged == [] and consumer.acked == []


def test_a_record_of_an_earlier_consumer_generation_is_left_to_be_read_again() -> None:
    consumer = Consumer()
    judge = Judge(consumer)
    run(consumer, judge, Record(7, generation_id=2))
    assert judge.judged == [] and consumer.acked == []


def test_a_judge_that_raises_leaves_the_record_unacknowledged() -> None:
    consumer = Consumer()
    judge = Judge(consumer, fail=True)
    run(consumer, judge, Record(7))
    assert judge.judged == [7] and consumer.acked == [] and not consumer._unacked_messages
