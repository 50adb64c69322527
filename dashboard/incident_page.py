"""One incident on a page of its own: what it is, its state in words, its history, who did what,
the messages about it, and the buttons to act on it."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import orjson
from aiohttp import web

from core import names
from core.replies import as_bytes
from dashboard import outreach
from dashboard import trip_words as words
from dashboard.keys import REDIS, ROWS, session_of
from dashboard.rows import masked
from dashboard.trip import timeline

routes = web.RouteTableDef()


@routes.get("/incidents/{incident_id}")
@aiohttp_jinja2.template("incident.html")
async def incident_page(request: web.Request) -> dict[str, Any]:
    incident_id, redis, session = request.match_info["incident_id"], request.app[REDIS], session_of(request)
    raw = await redis.get(names.incident_key(incident_id))
    if raw is None:
        raise web.HTTPNotFound(text=f"no incident {incident_id}")
    row = await request.app[ROWS].row_for(as_bytes(raw))
    order_id = row["order_id"]
    history = [orjson.loads(r) for r in await redis.lrange(names.incident_history_key(order_id), 0, -1)]
    actions = [orjson.loads(r) for r in await redis.lrange(names.audit_order_key(order_id), 0, -1)]
    messages = await outreach.messages_for_order(redis, order_id)
    mine = _unique([i for i in history if i.get("incident_id") == incident_id])
    return {
        "session": session,
        "incident": {
            **(row if session.can_see_phones else masked(row)),
            "label": words.kind_label(row["kind"]),
        },
        "details": _details(row.get("details") or {}, session.can_see_phones),
        "timeline": timeline(
            [],
            mine,
            [a for a in actions if a.get("incident_id") == incident_id],
            [m for m in messages if m.get("incident_id") == incident_id],
        ),
        "at": words.at,
    }


def _unique(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[int, dict[str, Any]] = {}
    for incident in history:
        seen.setdefault(int(incident["revision"]), incident)
    return list(seen.values())


def _details(details: dict[str, Any], sees_phones: bool) -> list[tuple[str, str]]:
    """The detector's details as label and text (nested values as plain words, never as JSON)."""
    shown = details if sees_phones else masked(details)
    return [
        (key.replace("_", " "), _words(value))
        for key, value in shown.items()
        if value not in (None, "", [], {})
    ]


def _words(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(
            f"{k.replace('_', ' ')} {_words(v)}" for k, v in value.items() if v not in (None, "")
        )
    if isinstance(value, list):
        return ", ".join(_words(v) for v in value)
    return str(value)
