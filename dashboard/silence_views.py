"""The board's silence routes: preview, create, edit, list and expire (JSON, CSRF-checked)."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from core import names
from core.replies import as_bytes
from dashboard import silences
from dashboard.api import audit_action, json_body, now_ms, require_actor, silences_message
from dashboard.keys import REDIS, ROWS, SETTINGS, session_of
from dashboard.silence_policy import Vocabulary, check_safety
from rules.overview import published_set
from rules.silences import Silence, SilenceError, decode, describe, is_silenced, save

routes = web.RouteTableDef()
PREVIEW_ROWS = 50


async def _checked(request: web.Request, body: dict[str, Any], now: int) -> tuple[Silence, dict[str, Any]]:
    """The silence the form describes, checked against what exists and who asks; and its preview."""
    session = session_of(request)
    rows = await request.app[ROWS].shift_rows(now)
    _, rule_set, _ = await published_set(request.app[REDIS])
    vocabulary = Vocabulary.gather(rule_set, rows)
    silence = silences.from_form(body, session.user, now)
    vocabulary.check(silence)
    covers_safety = vocabulary.covers_safety(silence)
    confirmed = body.get("confirm_safety") is True
    check_safety(silence, covers_safety, session.role, confirmed, request.app[SETTINGS].silence_safety_max_s)
    return silence, _preview(silence, rows, now, covers_safety)


def _preview(silence: Silence, rows: list[dict[str, Any]], now: int, covers_safety: bool) -> dict[str, Any]:
    active = [r for r in rows if r["status"] != "resolved"]
    matching = [r for r in active if silence.matches(r["kind"], r.get("city"), r.get("rule_id") or "")]
    held = [r for r in matching if is_silenced(r, now, [silence])]
    return {
        "text": describe(silence, now),
        "covers_safety": covers_safety,
        "holds_now": len(held),
        "matches": len(matching),
        "incidents": [
            {k: r.get(k) for k in ("incident_id", "kind", "severity", "order_id", "city")}
            for r in matching[:PREVIEW_ROWS]
        ],
    }


@routes.post("/api/silences/preview")
async def preview(request: web.Request) -> web.Response:
    """What the form's silence would hold now, or why it cannot be made (200 either way)."""
    require_actor(request)
    try:
        _, shown = await _checked(request, await json_body(request), now_ms())
    except SilenceError as error:
        return web.json_response({"problem": str(error)})
    return web.json_response(shown)


@routes.post("/api/silences")
async def add_silence(request: web.Request) -> web.Response:
    """A silence from the board's form (see dashboard.silences.from_form); 400 with the reason."""
    require_actor(request)
    now = now_ms()
    try:
        silence, _ = await _checked(request, await json_body(request), now)
    except SilenceError as error:
        raise web.HTTPBadRequest(text=str(error)) from None
    await audit_action(request, "silence", describe(silence, now))
    await save(request.app[REDIS], silence)
    return web.json_response({"silence_id": silence.silence_id, "text": describe(silence, now)})


@routes.put("/api/silences/{silence_id}")
async def edit_silence(request: web.Request) -> web.Response:
    """Replace a silence in force with the form's, under the same id."""
    require_actor(request)
    now, silence_id = now_ms(), request.match_info["silence_id"]
    raw = await request.app[REDIS].hget(names.SILENCES, silence_id)
    if raw is None:
        raise web.HTTPNotFound(text="no such silence")
    try:
        fresh, _ = await _checked(request, await json_body(request), now)
    except SilenceError as error:
        raise web.HTTPBadRequest(text=str(error)) from None
    edited = msgspec.structs.replace(fresh, silence_id=silence_id)
    await audit_action(
        request, "silence.edit", f"{describe(decode(as_bytes(raw)), now)} -> {describe(edited, now)}"
    )
    await save(request.app[REDIS], edited)
    return web.json_response({"silence_id": silence_id, "text": describe(edited, now)})


@routes.get("/api/silences")
async def list_silences(request: web.Request) -> web.Response:
    """The silences in force, in words, and which incidents they hold now (the live message)."""
    return web.json_response(await silences_message(request.app))


@routes.delete("/api/silences/{silence_id}")
async def end_silence(request: web.Request) -> web.Response:
    """Expire a silence now."""
    require_actor(request)
    removed = await silences.withdraw(request.app[REDIS], request.match_info["silence_id"])
    if removed is None:
        raise web.HTTPNotFound(text="no such silence")
    await audit_action(request, "unsilence", describe(removed, now_ms()))
    return web.json_response({"removed": removed.silence_id})
