"""The board's pages."""

from __future__ import annotations

import time
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from dashboard.keys import INCIDENT_STORE
from monitor.incidents import SEVERITY_RANK

routes = web.RouteTableDef()

SAFETY_KINDS = {"sos", "crash_suspected", "long_stop", "signal_lost", "early_end"}


@routes.get("/")
@aiohttp_jinja2.template("incidents.html")
async def incidents_page(request: web.Request) -> dict[str, Any]:
    """Open incidents, safety and severity first, then the oldest first."""
    incidents = await request.app[INCIDENT_STORE].open_incidents()
    incidents.sort(key=lambda i: (i.kind not in SAFETY_KINDS, -SEVERITY_RANK[i.severity], i.detected_at))
    return {"incidents": incidents, "now_ms": int(time.time() * 1000)}


@routes.get("/healthz")
async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})
