"""The rules page: every rule with its state, version and fires; workers' versions; a draft checked.

Thin: the data comes from `rules.overview` and `rules.reload`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from core.clock import now_ms
from dashboard.keys import REDIS, SETTINGS, session_of
from rules import limits, overview, reload

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
MAX_DRAFT_CHARS = 48_000
DRAFT_CHECK_S = limits.MAX_CHECK_S + 2  # the loader stops itself at MAX_CHECK_S; this is the backstop


@routes.get("/rules")
@aiohttp_jinja2.template("rules.html")
async def rules_page(request: web.Request) -> dict[str, Any]:
    return await _page(request, None, "", "draft.yaml")


@routes.post("/rules/check")
@aiohttp_jinja2.template("rules.html")
async def check_draft(request: web.Request) -> dict[str, Any]:
    form = await request.post()
    text, name = str(form.get("draft", ""))[:MAX_DRAFT_CHARS], str(form.get("name", ""))[:120]
    document = await reload.published(request.app[REDIS])
    check = await checked_off_loop(document["files"] if document else {}, name, text)
    return await _page(request, check, text, check.name)


async def checked_off_loop(files: dict[str, str], name: str, text: str) -> overview.DraftCheck:
    """The draft checked in a worker thread, so a slow check never holds up the board's loop."""
    loop = asyncio.get_running_loop()
    work = loop.run_in_executor(None, overview.check_draft, files, name, text)
    try:
        return await asyncio.wait_for(work, DRAFT_CHECK_S)
    except TimeoutError:
        log.warning("draft %r: check still running after %s s, answered as refused", name, DRAFT_CHECK_S)
        return overview.too_slow(name, text, DRAFT_CHECK_S)


async def _page(
    request: web.Request, check: overview.DraftCheck | None, text: str, name: str
) -> dict[str, Any]:
    redis, now = request.app[REDIS], now_ms()
    document, rule_set, problems = await overview.published_set(redis)
    rows = await overview.rule_rows(redis, rule_set, now) if rule_set else []
    stale_ms = int(request.app[SETTINGS].rules_poll_s * 5000)
    workers = [
        {"name": worker, "version": status["version"], "loaded": _when(status["loaded_at"]),
         "stale": now - status["seen_at"] > stale_ms}
        for worker, status in sorted((await reload.worker_versions(redis)).items())
    ]  # fmt: skip
    return {
        "session": session_of(request),
        "published": document,
        "published_at": _when(document["published_at"]) if document else "",
        "load_problems": problems,
        "rows": [{**row.__dict__, "last_fire": _when(row.last_fire_ms)} for row in rows],
        "workers": workers,
        "refused": await reload.last_refused(redis),
        "check": check,
        "draft": text,
        "draft_name": name,
    }


def _when(ms: int | None) -> str:
    if not ms:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
