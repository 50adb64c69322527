"""Typed keys for what the board keeps on its aiohttp application and requests."""

from __future__ import annotations

import redis.asyncio as aioredis
from aiohttp import web

from core.health import Latest
from core.incident_store import IncidentStore
from core.settings import Settings
from dashboard.access import Session, SessionStore, SigninThrottle
from dashboard.hub import Hub
from dashboard.metrics import BoardMetrics
from dashboard.publish import IncidentPublisher
from dashboard.rows import RowSource
from dashboard.users import UserStore

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", aioredis.Redis)
INCIDENT_STORE = web.AppKey("incident_store", IncidentStore)
USERS = web.AppKey("users", UserStore)
SESSIONS = web.AppKey("sessions", SessionStore)
THROTTLE = web.AppKey("throttle", SigninThrottle)
ROWS = web.AppKey("rows", RowSource)
HUB = web.AppKey("hub", Hub)
METRICS = web.AppKey("metrics", BoardMetrics)
PUBLISHER = web.AppKey("publisher", IncidentPublisher)
CONTENT_POLICY = web.AppKey("content_policy", str)  # the CSP (dashboard.middlewares.content_policy)
HEALTH = web.AppKey("health", Latest)  # the board's last health snapshot (dashboard/health.py)

SESSION = web.RequestKey("session", Session)  # the signed-in user's session


def session_of(request: web.Request) -> Session:
    return request[SESSION]
