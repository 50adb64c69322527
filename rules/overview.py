"""What the board's rules page shows: each rule with its state, version and fires; a checked draft.

Plain functions over Redis and the loader, so the page's view stays a thin shell.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
import redis.asyncio as aioredis

from core import names
from core.replies import as_text
from rules.loader import RuleError, RuleSet, load_rules

HOUR_MS = 3_600_000
SCAN = 5000  # incidents looked at for "last fire", newest first
_PROBLEM = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<rest>.*)$")


@dataclass
class RuleRow:
    id: str
    kind: str
    enabled: bool
    severity: str
    version: str
    source: str
    description: str
    fires_last_hour: int = 0
    last_fire_ms: int | None = None


@dataclass
class DraftLine:
    number: int
    text: str
    problems: list[str] = field(default_factory=list)  # "col N: path: message"


@dataclass
class DraftCheck:
    name: str
    version: str | None  # the version of the whole set with the draft in, when accepted
    lines: list[DraftLine]
    elsewhere: list[str]  # problems in the other files of the set (or not at a line)

    @property
    def accepted(self) -> bool:
        return self.version is not None


async def rule_rows(redis: aioredis.Redis, rule_set: RuleSet, now_ms: int) -> list[RuleRow]:
    fires = await _fires(redis, now_ms)
    rows = []
    for loaded in rule_set.rules:
        rule = loaded.rule
        count, last = fires.get(rule.id, (0, None))
        rows.append(
            RuleRow(
                rule.id,
                rule.kind,
                rule.enabled,
                rule.severity,
                loaded.version,
                loaded.source,
                rule.description.strip(),
                count,
                last,
            )
        )
    return rows


async def _fires(redis: aioredis.Redis, now_ms: int) -> dict[str, tuple[int, int | None]]:
    """rule id -> (incidents opened in the last hour, when its latest incident opened)."""
    recent = await redis.zrevrange(names.INCIDENTS_ALL, 0, SCAN - 1, withscores=True)
    if not recent:
        return {}
    scored = cast(list[tuple[bytes | str, float]], recent)
    raw = await redis.mget([names.incident_key(as_text(key)) for key, _ in scored])
    fires: dict[str, tuple[int, int | None]] = {}
    for (_, opened), document in zip(scored, raw, strict=True):
        if document is None:
            continue
        rule_id = orjson.loads(document).get("rule_id", "")
        count, last = fires.get(rule_id, (0, None))
        fires[rule_id] = (count + (opened >= now_ms - HOUR_MS), last or int(opened))
    return fires


def check_draft(published: Mapping[str, str], name: str, text: str) -> DraftCheck:
    """The draft validated with the published files (replacing the file of its name, if any)."""
    name = name.strip() or "draft.yaml"
    files = {**published, name: text}
    lines = [DraftLine(number, line) for number, line in enumerate(text.splitlines() or [""], start=1)]
    try:
        rule_set = load_rules(files)
    except RuleError as error:
        return DraftCheck(name, None, lines, _place(error.problems, name, lines))
    return DraftCheck(name, rule_set.version, lines, [])


def too_slow(name: str, text: str, seconds: float) -> DraftCheck:
    """The answer for a draft whose check did not finish in time."""
    lines = [DraftLine(number, line) for number, line in enumerate(text.splitlines() or [""], start=1)]
    return DraftCheck(
        name.strip() or "draft.yaml", None, lines, [f"{name}: refused: not checked within {seconds:g} s"]
    )


def _place(problems: list[str], name: str, lines: list[DraftLine]) -> list[str]:
    """Put each of the draft's problems under its line; return the others."""
    elsewhere = []
    for problem in problems:
        match = _PROBLEM.match(problem)
        if match is None or match["file"] != name or int(match["line"]) > len(lines):
            elsewhere.append(problem)
            continue
        lines[int(match["line"]) - 1].problems.append(f"col {match['col']}: {match['rest']}")
    return elsewhere


async def published_set(redis: aioredis.Redis) -> tuple[dict[str, Any] | None, RuleSet | None, list[str]]:
    """The published document, its loaded set (None if it does not load here) and the problems."""
    raw = await redis.get(names.RULES_CURRENT)
    if raw is None:
        return None, None, []
    document = orjson.loads(raw)
    try:  # in a thread: the board's loop keeps serving while a large set loads
        return document, await asyncio.to_thread(load_rules, document["files"]), []
    except RuleError as error:
        return document, None, error.problems
