"""Every request passes here: security headers, Redis outages, the session, CSRF and origin checks."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import orjson
import redis.exceptions
from aiohttp import web
from aiohttp.typedefs import Handler

from dashboard.access import COOKIE, Session
from dashboard.keys import CONTENT_POLICY, SESSION, SESSIONS, SETTINGS, USERS

log = logging.getLogger(__name__)

PUBLIC_PREFIXES = ("/login", "/healthz", "/metrics", "/static/", "/favicon.ico")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HSTS = "max-age=31536000; includeSubDomains"
REDIS_DOWN = "Tripwatch cannot reach Redis; retrying"
REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
RETRY_AFTER_S = 5
UNAVAILABLE_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="{RETRY_AFTER_S}">
<title>Tripwatch: unavailable</title><link rel="stylesheet" href="/static/board.css"></head>
<body><main class="unavailable"><h1>{REDIS_DOWN}</h1>
<p>The board keeps nothing of its own: this page tries again every {RETRY_AFTER_S} seconds.</p></main></body></html>
"""


def same_origin(request: web.Request) -> bool:
    """The Origin (or else Referer) names this very host; a browser always sends one of them."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    return bool(source) and urlsplit(source).netloc == request.host


def content_policy(tile_url: str) -> str:
    """The CSP, letting the trip map load images from its tile server (if any) and nothing else."""
    parts = urlsplit(tile_url.replace("{s}", "a"))
    tiles = f" {parts.scheme}://{parts.netloc.replace('a.', '*.', 1) if '{s}' in tile_url else parts.netloc}"
    return CSP.format(tiles=tiles if parts.scheme in ("http", "https") and parts.netloc else "")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    csp = request.app[CONTENT_POLICY]
    try:
        response = await handler(request)
    except web.HTTPException as error:  # redirects and refusals get the headers too
        _harden(error, csp)
        raise
    if not response.prepared:
        _harden(response, csp)
    return response


async def server_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response, pages, files and websockets alike: no server version; HSTS when
    TLS ends in front of the board (a setting: the board itself cannot tell)."""
    response.headers["Server"] = "Tripwatch"
    if request.app[SETTINGS].tls_terminated_in_front:
        response.headers["Strict-Transport-Security"] = HSTS


def _harden(response: web.StreamResponse, csp: str) -> None:
    response.headers.setdefault("Content-Security-Policy", csp)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def redis_unavailable(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A Redis outage is a clear 503 that says so, on every page, never a 500."""
    try:
        return await handler(request)
    except REDIS_ERRORS as error:
        log.warning("%s %s: Redis unavailable (%s)", request.method, request.path, error)
        raise _unavailable(request) from None


def _unavailable(request: web.Request) -> web.HTTPServiceUnavailable:
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    if request.path.startswith(("/api/", "/ws", "/healthz")):
        body = orjson.dumps({"status": "down", "error": REDIS_DOWN}).decode()
        return web.HTTPServiceUnavailable(text=body, content_type="application/json", headers=headers)
    return web.HTTPServiceUnavailable(text=UNAVAILABLE_PAGE, content_type="text/html", headers=headers)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(PUBLIC_PREFIXES):
        return await handler(request)
    session = await request.app[SESSIONS].get(request.cookies.get(COOKIE))
    if session is not None and not await still_allowed(request, session):
        await request.app[SESSIONS].drop(session.token)
        session = None
    if session is None:
        if request.path.startswith(("/api/", "/ws")):
            raise web.HTTPUnauthorized(text="sign in first")
        raise web.HTTPFound("/login?next=" + _local(request.path_qs))
    request[SESSION] = session
    return await handler(request)


@web.middleware
async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """State-changing requests: same origin, and (once signed in) the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return await handler(request)
    if not same_origin(request):
        raise web.HTTPForbidden(text="cross-origin request refused")
    session = request.get(SESSION)
    if session is not None and not session.csrf_matches(await _csrf_token(request)):
        raise web.HTTPForbidden(text="missing or wrong CSRF token")
    return await handler(request)


async def _csrf_token(request: web.Request) -> str | None:
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.content_type == "application/x-www-form-urlencoded":
        value = (await request.post()).get("csrf")
        token = value if isinstance(value, str) else None
    return token


async def still_allowed(request: web.Request, session: Session) -> bool:
    """A removed user, or one whose role changed, is signed out at the next request."""
    user = await request.app[USERS].get(session.user)
    return user is not None and user.role == session.role


def _local(path: str) -> str:
    """Only a path on this site (no //evil.example) may be a redirect target."""
    return path if path.startswith("/") and not path.startswith("//") else "/"
