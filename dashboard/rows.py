"""Board rows: an incident with its board annotations, deadline and last message.

A row is a plain JSON-able dict; the browser keeps the highest `revision` per incident.
Rows go out in two variants: whole, and with phone numbers masked for roles that may
not see them.
"""

from __future__ import annotations

from typing import Any

import orjson
import redis.asyncio as aioredis

from core import names
from core.incident_store import IncidentStore
from core.incidents import SAFETY_KINDS
from core.settings import Settings
from dashboard import outreach

ANNOTATIONS = ("owner", "acked_by", "acked_at", "note", "note_by", "note_at")
Row = dict[str, Any]


def ack_deadline_s(settings: Settings, severity: str) -> int:
    return int(getattr(settings, f"ack_deadline_{severity}_s", settings.ack_deadline_medium_s))


def is_safety(incident: dict[str, Any]) -> bool:
    return incident.get("severity") == "critical" or incident.get("kind") in SAFETY_KINDS


def make_row(incident: dict[str, Any], annotation: dict[str, str], settings: Settings) -> Row:
    row = {key: incident.get(key) for key in _INCIDENT_FIELDS}
    row.update({key: annotation.get(key) for key in ANNOTATIONS})
    row["acked_at"] = int(annotation["acked_at"]) if annotation.get("acked_at") else None
    row["safety"] = is_safety(incident)
    row["ack_deadline"] = deadline_from(incident) + 1000 * ack_deadline_s(
        settings, str(incident.get("severity"))
    )
    return row


def deadline_from(incident: dict[str, Any]) -> int:
    """The acknowledgement deadline counts from the escalation to the current severity, if any."""
    return int(incident.get("severity_since") or incident.get("detected_at") or 0)


_INCIDENT_FIELDS = (
    "incident_id", "kind", "severity", "status", "order_id", "passenger_id", "city", "summary",
    "details", "rule_id", "rule_version", "trigger_ts", "detected_at", "opened_at", "updated_at",
    "resolved_at", "resolution", "revision", "subordinate_to", "severity_since",
)  # fmt: skip


def board_order(row: Row) -> tuple[bool, bool, bool, int]:
    """Active before resolved, safety first, unacknowledged first, then the nearest deadline."""
    return (row["status"] == "resolved", not row["safety"], row["status"] != "open", row["ack_deadline"])


def masked(value: Any) -> Any:
    """A copy with every `phone` field masked (for roles that may not see numbers)."""
    if isinstance(value, dict):
        return {k: _mask(v) if k == "phone" else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def _mask(phone: Any) -> Any:
    if not isinstance(phone, str):
        return phone
    return phone[:3] + "•" * max(0, len(phone) - 5) + phone[-2:] if len(phone) > 6 else "•" * len(phone)


class RowSource:
    """Reads incidents and their annotations from Redis and turns them into rows."""

    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        self._redis = redis
        self._store = IncidentStore(redis)
        self._settings = settings

    async def rows(self, incidents: list[dict[str, Any]]) -> list[Row]:
        annotations = await self._store.board_annotations([i["incident_id"] for i in incidents])
        rows = [make_row(i, a, self._settings) for i, a in zip(incidents, annotations, strict=True)]
        for row in rows:
            row["last_message"] = await outreach.last_message(self._redis, row["incident_id"])
        return rows

    async def row_for(self, raw_incident: bytes) -> Row:
        return (await self.rows([orjson.loads(raw_incident)]))[0]

    async def shift_rows(self, now_ms: int) -> list[Row]:
        """Every incident open now or opened during the shift, in board order."""
        since = now_ms - int(self._settings.shift_hours * 3600_000)
        recent = await self._redis.zrevrangebyscore(names.INCIDENTS_ALL, "+inf", since, start=0, num=1000)
        still_open = await self._redis.zrevrange(names.INCIDENTS_OPEN, 0, 999)
        ids = list(dict.fromkeys(_text(i) for i in [*still_open, *recent]))
        raws = await self._redis.mget([names.incident_key(i) for i in ids]) if ids else []
        rows = await self.rows([orjson.loads(raw) for raw in raws if raw])
        return sorted(rows, key=board_order)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
