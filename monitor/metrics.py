"""Prometheus metrics of the worker, served on `worker_metrics_port` (0 = not served).

One registry per process; the worker counts at a few points of `monitor.app`, and
outreach (notifiers) may use `NOTIFICATION_LATENCY` and `PROVIDER_FAILURES`.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from monitor.incidents import Incident

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

EVENTS = Counter("tripwatch_events", "Input events read, by topic", ["topic"], registry=REGISTRY)
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
PROCESSING_FAILURES = Counter(
    "tripwatch_processing_failures",
    "Events whose judgement raised, dead-lettered with the error, by topic",
    ["topic"],
    registry=REGISTRY,
)


def serve(host: str, port: int) -> None:
    """Serve /metrics in a background thread (prometheus_client's own server)."""
    if port:
        start_http_server(port, addr=host, registry=REGISTRY)
        log.info("metrics on http://%s:%d/metrics", host, port)


def observe_incident(incident: Incident, now_ms: int) -> None:
    INCIDENT_CHANGES.labels(incident.kind, incident.severity, incident.status).inc()
    if incident.status == "open" and incident.revision == 1 and incident.trigger_ts:
        DETECTION_LATENCY.observe(max(0.0, (now_ms - incident.trigger_ts) / 1000))


def update_consumer_lag(consumer: Any) -> None:
    """Lag per assigned partition: the high watermark minus the next offset to read."""
    try:
        read_offsets = consumer._read_offset  # faust keeps no public accessor for it
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            read = read_offsets.get(tp)
            CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(
                max(0, highwater - (read + 1 if read is not None else 0))
            )
    except Exception:  # a metric must never stop the worker
        log.debug("consumer lag unavailable", exc_info=True)
