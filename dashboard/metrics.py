"""The board's own Prometheus metrics, served at /metrics (one registry per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from dashboard.told_first import ToldFirstGauges


class BoardMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.clients = Gauge("tripwatch_board_clients", "Browsers connected", registry=self.registry)
        self.dropped = Counter(
            "tripwatch_board_clients_dropped",
            "Browsers dropped (too slow or asked to)",
            registry=self.registry,
        )
        self.actions = Counter(
            "tripwatch_board_actions", "Supervisors' actions, by action", ["action"], registry=self.registry
        )
        self.signins = Counter(
            "tripwatch_board_signins", "Sign-in attempts, by outcome", ["outcome"], registry=self.registry
        )

        self.told_first = ToldFirstGauges(self.registry)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
