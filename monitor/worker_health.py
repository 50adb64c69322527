"""The worker's `/healthz`: a snapshot refreshed by a faust timer, judged per request.

The snapshot is refreshed on the worker's event loop (Redis PING, a broker metadata request,
the consumer's assignment and lag) and replaced whole; `/healthz` is answered from the metrics
server's thread (monitor.metrics.serve), so a stuck loop shows as a stale snapshot (503)
instead of a health check that hangs. Each refresh also leaves a short report in Redis, from
which the board tells whether any worker is alive and how far behind they are.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
import orjson
import redis.asyncio as aioredis

from core import names
from core.clock import now_ms
from core.health import PROBE_TIMEOUT_S, REFRESH_S, Snapshot, lag_by_topic, report
from core.probes import check_broker, check_redis
from core.settings import Settings
from monitor import metrics
from rules.reload import worker_id

log = logging.getLogger(__name__)


def assigned_inputs(consumer: Any) -> int:
    """Input partitions this worker reads (changelogs and passengers do not count)."""
    try:
        return sum(1 for tp in consumer.assignment() if tp.topic in names.INPUT_TOPICS)
    except Exception:  # the consumer is not started yet
        return 0


class WorkerHealth:
    def __init__(self, settings: Settings, redis: aioredis.Redis, app: faust.App) -> None:
        self.settings = settings
        self.redis = redis
        self.app = app
        self.worker = worker_id()
        self.snapshot: Snapshot | None = None

    @classmethod
    def attach(cls, settings: Settings, redis: aioredis.Redis, app: faust.App) -> WorkerHealth:
        """Refresh on a timer of `app`, and serve /metrics and /healthz on the metrics port."""
        health = cls(settings, redis, app)
        app.timer(REFRESH_S, name="tripwatch.health")(health.refresh)
        metrics.serve(settings.dashboard_host, settings.worker_metrics_port, health.respond)
        return health

    async def refresh(self) -> None:
        try:
            self.snapshot = await self.take()
            await self._report(self.snapshot)
        except Exception:  # health must never stop the worker
            log.warning("health refresh failed", exc_info=True)

    async def take(self) -> Snapshot:
        redis = await check_redis(self.redis)
        broker = await check_broker(self.settings.kafka_bootstrap)
        consumer = self.app.consumer
        lags = metrics.update_consumer_lag(consumer)
        return Snapshot(
            taken_at_ms=now_ms(),
            redis=redis,
            broker=broker,
            assigned=assigned_inputs(consumer),
            lag=lag_by_topic(lags, names.INPUT_TOPICS),
        )

    def respond(self) -> tuple[int, bytes]:
        status, body = report(self.snapshot, now_ms())
        return status, orjson.dumps(body | {"worker": self.worker})

    async def _report(self, snapshot: Snapshot) -> None:
        """Tell the board this worker is alive, and its lag (skipped while Redis is away)."""
        if not snapshot.redis.ok:
            return
        entry = {"at": snapshot.taken_at_ms, "lag": snapshot.lag, "assigned": snapshot.assigned}
        await asyncio.wait_for(
            self.redis.hset(names.WORKER_HEALTH, self.worker, orjson.dumps(entry)), PROBE_TIMEOUT_S
        )
