"""The board's pages: sign-in, the board and metrics (health: dashboard/health.py)."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from core import names
from core.clock import now_ms
from core.incident_store import queue_audit
from core.incidents import BUILTIN_KINDS
from core.supervision import AuditEntry
from dashboard.access import COOKIE
from dashboard.keys import METRICS, REDIS, SESSIONS, SETTINGS, THROTTLE, USERS, session_of
from dashboard.middlewares import _local
from dashboard.rows import ack_deadline_s

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
LOGIN_COOKIE = "tw_login"


@routes.get("/")
@aiohttp_jinja2.template("board.html")
async def board_page(request: web.Request) -> dict[str, Any]:
    settings = request.app[SETTINGS]
    deadlines = {s: ack_deadline_s(settings, s) for s in ("critical", "high", "medium", "low")}
    safety_max = f"{settings.silence_safety_max_s / 3600:g} h"
    return {
        "session": session_of(request),
        "deadlines": deadlines,
        "kinds": BUILTIN_KINDS,
        "safety_max": safety_max,
    }


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    no_users = not await request.app[REDIS].hlen(names.USERS)
    hint = "No users yet: create one with `tripwatch users add NAME --role admin`." if no_users else None
    return _login_form(request, error=hint)


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    name, password = str(form.get("user", ""))[:64], str(form.get("password", ""))
    login_token = request.cookies.get(LOGIN_COOKIE)
    if not login_token or not secrets.compare_digest(login_token, str(form.get("csrf", ""))):
        raise web.HTTPForbidden(text="sign-in form expired: reload the page")
    address = request.remote or "?"
    throttle, metrics = request.app[THROTTLE], request.app[METRICS]
    if not await throttle.attempt(name, address):
        metrics.signins.labels("throttled").inc()
        return _login_form(request, "Too many failed attempts: wait a few minutes.", status=429)
    user = await request.app[USERS].verify(name, password)
    if user is None:
        metrics.signins.labels("refused").inc()
        log.info("sign-in refused for %r from %s", name, address)
        await audit(request, "signin.refused", name, "-", address)
        return _login_form(request, "Wrong user name or password.", status=401)
    await throttle.succeeded(name, address)
    metrics.signins.labels("ok").inc()
    session = await request.app[SESSIONS].create(user.name, user.role, now_ms())
    await audit(request, "signin", user.name, user.role, address)
    response = web.HTTPFound(_local(request.query.get("next", "/")))
    _set_session_cookie(request, response, session.token)
    response.del_cookie(LOGIN_COOKIE, path="/login")
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    session = session_of(request)
    await request.app[SESSIONS].drop(session.token)
    await audit(request, "signout", session.user, session.role, request.remote or "?")
    response = web.HTTPFound("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


@routes.get("/favicon.ico")
async def favicon(_request: web.Request) -> web.Response:
    return web.Response(status=204)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    body, content_type = request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": content_type})


async def audit(request: web.Request, action: str, actor: str, role: str, text: str = "") -> None:
    entry = AuditEntry(at=now_ms(), actor=actor, role=role, action=action, text=text)
    async with request.app[REDIS].pipeline(transaction=True) as pipe:
        queue_audit(pipe, entry)
        await pipe.execute()


def _login_form(request: web.Request, error: str | None, status: int = 200) -> web.Response:
    # Reuse the browser's token: a second tab (or a favicon fetch) must not void the first form.
    token = request.cookies.get(LOGIN_COOKIE) or ""
    if not 24 <= len(token) <= 64:
        token = secrets.token_urlsafe(24)
    context = {"error": error, "csrf": token, "next": _local(request.query.get("next", "/"))}
    response = aiohttp_jinja2.render_template("login.html", request, context, status=status)
    response.set_cookie(
        LOGIN_COOKIE, token, path="/login", httponly=True, samesite="Strict",
        secure=request.app[SETTINGS].session_cookie_secure,
    )  # fmt: skip
    return response


def _set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    settings = request.app[SETTINGS]
    response.set_cookie(
        COOKIE, token, path="/", httponly=True, samesite="Strict",
        secure=settings.session_cookie_secure, max_age=settings.session_ttl_s,
    )  # fmt: skip
