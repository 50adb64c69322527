"""Typed keys for what the board keeps on its aiohttp application."""

from __future__ import annotations

from aiohttp import web

from monitor.incident_store import IncidentStore
from monitor.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
INCIDENT_STORE = web.AppKey("incident_store", IncidentStore)
