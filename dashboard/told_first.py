"""Did passengers hear from us before they contacted support: the shift's figures for the board,
its /metrics and the unmatched-contacts page (computed in monitor/contact_figures.py)."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, Gauge

from dashboard.rows import Row
from monitor.contact_figures import OVERALL, told_first_figures
from monitor.contact_store import ContactStore

log = logging.getLogger(__name__)


async def shift_told_first(redis: aioredis.Redis, rows: list[Row], since_ms: int) -> dict[str, Any] | None:
    """The figures over the shift's incidents (`rows`) and the contacts since `since_ms`."""
    try:
        records = await ContactStore(redis).records_since(since_ms)
    except Exception:  # contacts' data must never break the board
        log.exception("reading support contacts failed")
        return None
    return told_first_figures(records, Counter(str(r["kind"]) for r in rows))


def when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class ToldFirstGauges:
    """The same figures as Prometheus gauges, set from the board's shift on each scrape."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.share = Gauge(
            "tripwatch_told_first_share",
            "Of the shift's incidents that drew a support contact, the share we messaged first",
            ["kind"], registry=registry,
        )  # fmt: skip
        self.lead = Gauge(
            "tripwatch_told_first_lead_seconds",
            "Our first message -> the passenger's first contact, over incidents told first",
            ["kind", "quantile"], registry=registry,
        )  # fmt: skip
        self.rate = Gauge(
            "tripwatch_support_contact_rate",
            "Support contacts per incident in the shift",
            ["kind"], registry=registry,
        )  # fmt: skip
        self.contacted = Gauge(
            "tripwatch_incidents_contacted",
            "Incidents of the shift that drew a support contact",
            ["kind"], registry=registry,
        )  # fmt: skip
        self.unmatched = Gauge(
            "tripwatch_support_contacts_unmatched",
            "Support contacts of the shift that matched no incident, by topic",
            ["topic"], registry=registry,
        )  # fmt: skip

    def set(self, figures: dict[str, Any]) -> None:
        for gauge in (self.share, self.lead, self.rate, self.contacted, self.unmatched):
            gauge.clear()  # a kind gone from the shift must not linger with its old value
        rows = {**figures["kinds"], OVERALL: figures["overall"]}
        for kind, row in rows.items():
            self._set(self.share.labels(kind), row["told_first_share"])
            self._set(self.lead.labels(kind, "0.5"), row["lead_p50_s"])
            self._set(self.lead.labels(kind, "0.9"), row["lead_p90_s"])
            self._set(self.rate.labels(kind), row["contact_rate"])
            self.contacted.labels(kind).set(row["incidents_contacted"])
        for topic, count in figures["unmatched"]["by_topic"].items():
            self.unmatched.labels(topic).set(count)

    @staticmethod
    def _set(child: Any, value: float | None) -> None:
        child.set(float("nan") if value is None else value)
