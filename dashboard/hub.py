"""Live updates: one Redis subscription per dashboard process, fanned out to every browser.

Each browser has its own bounded queue and its own sending task. Broadcasting only puts
into queues (never awaits a socket), so a slow browser delays nobody; when its queue is
full it is dropped, and it reconnects and resynchronises from a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as aioredis

from core import names
from dashboard.rows import Row, masked

log = logging.getLogger(__name__)

Send = Callable[[str], Awaitable[Any]]


class Client:
    """One browser: its queue of encoded updates and whether it may see phone numbers."""

    def __init__(self, send: Send, sees_phones: bool, queue_size: int) -> None:
        self.send = send
        self.sees_phones = sees_phones
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self.dropped = asyncio.Event()

    def offer(self, message: str) -> bool:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            return False
        return True

    async def pump(self, first: str) -> None:
        """Send the snapshot, then every queued update, until cancelled or dropped."""
        await self.send(first)
        while True:
            await self.send(await self.queue.get())


class Hub:
    def __init__(self) -> None:
        self.clients: set[Client] = set()
        self.dropped_total = 0
        self.subscribed = asyncio.Event()  # snapshots wait for it: no update falls in between

    def add(self, client: Client) -> None:
        self.clients.add(client)

    def remove(self, client: Client) -> None:
        self.clients.discard(client)

    def broadcast(self, message: dict[str, Any], masked_message: dict[str, Any] | None = None) -> None:
        whole = orjson.dumps(message).decode()
        safe = orjson.dumps(masked_message).decode() if masked_message is not None else whole
        for client in list(self.clients):
            if not client.offer(whole if client.sees_phones else safe):
                self.drop(client)

    def broadcast_row(self, row: Row) -> None:
        self.broadcast({"type": "incident", "row": row}, {"type": "incident", "row": masked(row)})

    def drop(self, client: Client) -> None:
        """Disconnect a browser (too slow, or asked to): it reconnects and resyncs."""
        log.info("dropping a board client (queue %d)", client.queue.qsize())
        self.remove(client)
        self.dropped_total += 1
        client.dropped.set()

    def drop_all(self) -> None:
        for client in list(self.clients):
            self.drop(client)


RowFor = Callable[[bytes], Awaitable[Row]]
SilencesMessage = Callable[[], Awaitable[dict[str, Any]]]


async def relay(redis: aioredis.Redis, hub: Hub, row_for: RowFor, silences: SilencesMessage) -> None:
    """Forward incident and silence changes from Redis pub/sub to the hub, forever.

    When the subscription breaks, updates may have been missed: every browser is dropped
    so that it resynchronises from a snapshot once the subscription is back.
    """
    while True:
        try:
            pubsub = await subscribe(redis)
        except (aioredis.ConnectionError, OSError) as error:
            log.warning("cannot subscribe to board updates (%s): retrying", error)
            await asyncio.sleep(1.0)
            continue
        hub.subscribed.set()
        try:
            stop_if_cancelled()
            await forward_all(pubsub, hub, row_for, silences)
        except (aioredis.ConnectionError, OSError) as error:
            log.warning("board subscription lost (%s): resubscribing", error)
            hub.subscribed.clear()
            hub.drop_all()
            await asyncio.sleep(0.5)
        finally:
            await pubsub.aclose()


async def subscribe(redis: aioredis.Redis) -> aioredis.client.PubSub:
    pubsub = redis.pubsub()
    await pubsub.subscribe(names.INCIDENT_CHANGES, names.BOARD_CHANGES)
    return pubsub


async def forward_all(
    pubsub: aioredis.client.PubSub, hub: Hub, row_for: RowFor, silences: SilencesMessage
) -> None:
    async for message in pubsub.listen():
        if message["type"] != "message":
            continue
        try:
            await _forward(message, hub, row_for, silences)
        except aioredis.ConnectionError:
            raise
        except Exception:
            log.exception("could not forward a board update")
        stop_if_cancelled()


def stop_if_cancelled() -> None:
    """Stop a relay that was asked to stop even if its cancellation got lost.

    redis-py can swallow a cancellation that lands while a command is in flight (redis-py
    issues #2028 and #2551; seen here with redis 8.1 on Python 3.11, where a cancelled task's
    `await redis.get(...)` simply returned): the relay then listened on for ever and the
    dashboard never finished shutting down.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def _forward(message: dict[str, Any], hub: Hub, row_for: RowFor, silences: SilencesMessage) -> None:
    channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
    if channel == names.INCIDENT_CHANGES:
        hub.broadcast_row(await row_for(message["data"]))
    else:
        hub.broadcast(await silences())
