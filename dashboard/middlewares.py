"""Every request passes here: security headers, the session, CSRF and origin checks."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler

from dashboard.access import COOKIE, Session
from dashboard.keys import SESSION, SESSIONS, USERS

PUBLIC_PREFIXES = ("/login", "/healthz", "/metrics", "/static/", "/favicon.ico")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def same_origin(request: web.Request) -> bool:
    """The Origin (or else Referer) names this very host; a browser always sends one of them."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    return bool(source) and urlsplit(source).netloc == request.host


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:  # redirects and refusals get the headers too
        _harden(error)
        raise
    if not response.prepared:
        _harden(response)
    return response


def _harden(response: web.StreamResponse) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(PUBLIC_PREFIXES):
        return await handler(request)
    session = await request.app[SESSIONS].get(request.cookies.get(COOKIE))
    if session is not None and not await _still_allowed(request, session):
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


async def _still_allowed(request: web.Request, session: Session) -> bool:
    """A removed user, or one whose role changed, is signed out at the next request."""
    user = await request.app[USERS].get(session.user)
    return user is not None and user.role == session.role


def _local(path: str) -> str:
    """Only a path on this site (no //evil.example) may be a redirect target."""
    return path if path.startswith("/") and not path.startswith("//") else "/"
