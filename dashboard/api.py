"""The board's actions (JSON over POST, CSRF-checked by the middleware) and its figures."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiokafka.errors import KafkaError

from core.clock import now_ms
from core.supervision import BOARD_ACTIONS, ActionRefused, SupervisorAction
from dashboard import outreach, silences
from dashboard.figures import shift_figures
from dashboard.keys import INCIDENT_STORE, METRICS, PUBLISHER, REDIS, ROWS, SETTINGS, USERS, session_of
from dashboard.rows import masked
from dashboard.views import audit
from rules.silences import in_force

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
MAX_TEXT = 2000


def require_actor(request: web.Request) -> None:
    if not session_of(request).can_act:
        raise web.HTTPForbidden(text="your role may only watch")


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        raise web.HTTPBadRequest(text="the body must be JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


@routes.post("/api/incidents/{incident_id}/{action}")
async def act(request: web.Request) -> web.Response:
    require_actor(request)
    name = request.match_info["action"]
    if name not in BOARD_ACTIONS:
        raise web.HTTPNotFound(text=f"no action {name!r}")
    session, body = session_of(request), await json_body(request)
    if name == "assign" and await request.app[USERS].get(str(body.get("text", "")).strip()) is None:
        raise web.HTTPBadRequest(text="assign: no such user")
    action = SupervisorAction(
        action=name,  # type: ignore[arg-type]
        incident_id=request.match_info["incident_id"],
        actor=session.user,
        role=session.role,
        text=str(body.get("text", ""))[:MAX_TEXT],
    )
    try:
        updated = await request.app[INCIDENT_STORE].act(
            action, now_ms(), before_commit=request.app[PUBLISHER]
        )
    except KafkaError as error:
        log.error("could not publish %s on %s: %s", name, action.incident_id, error)
        raise web.HTTPServiceUnavailable(text="the change could not be published: try again") from None
    except KeyError:
        raise web.HTTPNotFound(text="no such incident") from None
    except ActionRefused as error:
        raise web.HTTPConflict(text=str(error)) from None
    request.app[METRICS].actions.labels(name).inc()
    log.info("%s by %s on %s", name, session.user, action.incident_id)
    return web.json_response(
        {"changed": updated is not None, "revision": updated.revision if updated else None}
    )


@routes.get("/api/users")
async def user_names(request: web.Request) -> web.Response:
    """Who an incident can be assigned to: the supervisors and admins."""
    users = await request.app[USERS].all()
    return web.json_response([u.name for u in users if u.role in ("supervisor", "admin")])


@routes.get("/api/board")
async def board(request: web.Request) -> web.Response:
    """The snapshot the websocket sends first, for scripts and tests."""
    return web.json_response(await snapshot(request))


async def snapshot(request: web.Request) -> dict[str, Any]:
    redis, now = request.app[REDIS], now_ms()
    rows = await request.app[ROWS].shift_rows(now)
    since = now - int(request.app[SETTINGS].shift_hours * 3600_000)
    figures = shift_figures(rows, await outreach.shift_counts(redis, since))
    if not session_of(request).can_see_phones:
        rows = [masked(row) for row in rows]
    held = silences.message(await in_force(redis, now), rows, now)
    for row in rows:
        row["silenced_by"] = held["silenced"].get(row["incident_id"])
    return {
        "type": "snapshot",
        "now": now,
        "rows": rows,
        "figures": figures,
        "silences": held["silences"],
        "next_change": held["next_change"],
    }


async def silences_message(app: web.Application) -> dict[str, Any]:
    """The silences in force and the incidents on the board they hold now."""
    now = now_ms()
    rows = await app[ROWS].shift_rows(now)
    return silences.message(await in_force(app[REDIS], now), rows, now)


async def live_row(app: web.Application, raw_incident: bytes) -> dict[str, Any]:
    """A changed incident's board row, marked as outreach sees it (`silenced_by`)."""
    row = await app[ROWS].row_for(raw_incident)
    now = now_ms()
    row["silenced_by"] = silences.silenced_by(row, now, await in_force(app[REDIS], now))
    return row


async def audit_action(request: web.Request, action: str, text: str) -> None:
    session = session_of(request)
    await audit(request, action, session.user, session.role, text)
