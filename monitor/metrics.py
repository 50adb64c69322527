"""Prometheus metrics of the worker, served on `worker_metrics_port` (0 = not served),
with the worker's `/healthz` on the same port when it is given one (monitor.worker_health).

One registry per process; the worker counts at a few points of `monitor.app`, and
outreach (notifiers) may use `NOTIFICATION_LATENCY` and `PROVIDER_FAILURES`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from core.incidents import Incident

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

EVENTS = Counter("tripwatch_events", "Input events read, by topic", ["topic"], registry=REGISTRY)
_EVENTS_BY_TOPIC: dict[str, Any] = {}  # `labels()` costs three times the count itself, per event
DEAD_LETTERS = Counter(
    "tripwatch_dead_letters",
    "Messages rejected to the dead-letter topic, by topic",
    ["topic"],
    registry=REGISTRY,
)
INCIDENT_CHANGES = Counter(
    "tripwatch_incident_changes",
    "Incident changes written, by kind, severity and status",
    ["kind", "severity", "status"],
    registry=REGISTRY,
)
DETECTION_LATENCY = Histogram(
    "tripwatch_detection_latency_seconds",
    "From the triggering event's time (or deadline) to the incident's write",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
NOTIFICATION_LATENCY = Histogram(
    "tripwatch_notification_latency_seconds",
    "From detection to the provider's acceptance, by channel",
    ["channel"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
PROVIDER_FAILURES = Counter(
    "tripwatch_provider_failures",
    "Failed deliveries to a provider, by channel",
    ["channel"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "tripwatch_consumer_lag",
    "Messages not yet read, by topic and partition",
    ["topic", "partition"],
    registry=REGISTRY,
)
DEPENDENCY_WAITS = Counter(
    "tripwatch_dependency_waits",
    "Times an effect had to wait for Redis or the broker to come back (back-pressure)",
    registry=REGISTRY,
)
HELD_RELEASED_UNJUDGED = Counter(
    "tripwatch_held_released_unjudged",
    "Trips whose events waited too long for a deadline to be judged and went on without it",
    registry=REGISTRY,
)
PROCESSING_FAILURES = Counter(
    "tripwatch_processing_failures",
    "Events whose judgement raised, dead-lettered with the error, by topic",
    ["topic"],
    registry=REGISTRY,
)
CONDITION_FAILURES = Counter(
    "tripwatch_rule_condition_failures",
    "Rule conditions that failed at run time and were taken as false, by rule",
    ["rule"],
    registry=REGISTRY,
)


HealthEndpoint = Callable[[], tuple[int, bytes]]  # the HTTP status and JSON body of /healthz


def serve(host: str, port: int, health: HealthEndpoint | None = None) -> None:
    """Serve /metrics (and /healthz, given `health`) in a background thread: prometheus_client's
    own WSGI server, so a stuck event loop still answers, and says so (core.health)."""
    if not port:
        return
    metrics_app = make_wsgi_app(REGISTRY)
    app = metrics_app if health is None else _with_health(metrics_app, health)
    server = make_server(host, port, app, ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    log.info("metrics on http://%s:%d/metrics", host, port)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - scrapes every few seconds
        """No line per request."""


def _with_health(metrics_app: Any, health: HealthEndpoint) -> Any:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/healthz":
            return metrics_app(environ, start_response)  # type: ignore[no-any-return]
        status, body = health()
        reason = "OK" if status == 200 else "Service Unavailable"
        start_response(
            f"{status} {reason}", [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
        )
        return [body]

    return app


def count_event(topic: str) -> None:
    """One input event read from `topic` (the hot path: the topic's counter is looked up once)."""
    counter = _EVENTS_BY_TOPIC.get(topic)
    if counter is None:
        counter = _EVENTS_BY_TOPIC[topic] = EVENTS.labels(topic)
    counter.inc()


def observe_incident(incident: Incident, now_ms: int) -> None:
    INCIDENT_CHANGES.labels(incident.kind, incident.severity, incident.status).inc()
    if incident.status == "open" and incident.revision == 1 and incident.trigger_ts:
        DETECTION_LATENCY.observe(max(0.0, (now_ms - incident.trigger_ts) / 1000))


def update_consumer_lag(consumer: Any) -> dict[tuple[str, int], int]:
    """Lag per assigned partition: the high watermark minus the next offset to read.
    Returns what it set, by (topic, partition)."""
    lags: dict[tuple[str, int], int] = {}
    try:
        read_offsets = consumer._read_offset  # faust keeps no public accessor for it
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            read = read_offsets.get(tp)
            lag = lags[(tp.topic, tp.partition)] = max(0, highwater - (read + 1 if read is not None else 0))
            CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag)
    except Exception:  # a metric must never stop the worker
        log.debug("consumer lag unavailable", exc_info=True)
    return lags
