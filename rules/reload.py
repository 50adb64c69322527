"""Hot reload: one published rule set in Redis, read by every worker, swapped in whole.

`publish` writes the files of a rule set and its version in one transaction. Each
worker's `RuleReloader.check` polls the version (every `rules_poll_s`), loads a new set
with the full validation, and hands it to `apply` (one assignment, between events), or
logs and records the refusal while the last good set keeps running. Each worker records
the version in force, for the board.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core import names
from core.clock import now_ms
from core.replies import as_text
from rules.files import rule_paths
from rules.loader import RuleError, RuleSet, load_rules

log = logging.getLogger(__name__)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def files_of(directory: Path) -> dict[str, str]:
    """A rule directory as published: file name (no folder) -> text."""
    return {path.name: path.read_text(encoding="utf-8") for path in rule_paths(directory)}


async def publish(
    redis: aioredis.Redis, files: Mapping[str, str], version: str, by: str = "", only_if_none: bool = False
) -> bool:
    """Make `files` the rule set every worker runs; False when `only_if_none` and one exists."""
    document = {"version": version, "files": dict(files), "published_at": now_ms(), "by": by}
    if only_if_none and not await redis.set(names.RULES_VERSION, version, nx=True):
        return False
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(names.RULES_CURRENT, orjson.dumps(document))
        pipe.set(names.RULES_VERSION, version)
        pipe.delete(names.RULES_REFUSED)
        await pipe.execute()
    log.info("rule set %s published (%d files) by %s", version, len(files), by or "?")
    return True


async def publish_rule_set(redis: aioredis.Redis, rule_set: RuleSet, by: str = "") -> None:
    """Publish a set that loaded here (its files renamed to their base names)."""
    await publish(redis, files_of_set(rule_set), rule_set.version, by)


async def published(redis: aioredis.Redis) -> dict[str, Any] | None:
    raw = await redis.get(names.RULES_CURRENT)
    return orjson.loads(raw) if raw else None


async def worker_versions(redis: aioredis.Redis) -> dict[str, dict[str, Any]]:
    """Worker id -> {version, loaded_at, seen_at}: what runs where, for the board."""
    raw = await redis.hgetall(names.RULES_WORKERS)
    return {as_text(key): orjson.loads(value) for key, value in raw.items()}


async def last_refused(redis: aioredis.Redis) -> dict[str, Any] | None:
    raw = await redis.get(names.RULES_REFUSED)
    return orjson.loads(raw) if raw else None


class RuleReloader:
    """One worker's side: watch the published version, load, swap or refuse."""

    def __init__(
        self,
        redis: aioredis.Redis,
        current: RuleSet,
        apply: Callable[[RuleSet], None],
        templates: Iterable[str] | None = None,
        worker: str | None = None,
        report: bool = True,
        follow: bool = True,
    ) -> None:
        self.redis = redis
        self.current = current
        self.apply = apply
        self.templates = templates
        self.worker = worker or worker_id()
        self.report = report  # False for a follower that is no worker (say, outreach)
        self.follow = follow  # False: run `current` only, whatever is published (still reported)
        self.seen: str | None = None  # published version last tried, good or refused
        self.loaded_at = now_ms()

    async def start(self) -> None:
        """Run the published set, or publish ours when none is (the first worker seeds it)."""
        if not self.report or not self.follow:
            await self.check()  # a follower never seeds the set; a worker on its own never does
            return
        try:
            seeded = await publish(
                self.redis, files_of_set(self.current), self.current.version, self.worker, True
            )
        except RedisError as error:
            log.warning("rule set: Redis unavailable at start (%s); running %s", error, self.current.version)
            return
        if seeded:
            self.seen = self.current.version
            await self._record()
            return
        await self.check()

    async def check(self) -> bool:
        """One poll; True when a new set was swapped in. Redis trouble keeps the current set."""
        try:
            return await self._poll()
        except RedisError as error:
            log.warning("rule set: cannot poll Redis (%s); %s keeps running", error, self.current.version)
            return False

    async def _poll(self) -> bool:
        if not self.follow:
            await self._record()
            return False
        raw_version = await self.redis.get(names.RULES_VERSION)
        version = as_text(raw_version) if raw_version else None
        swapped = False
        if version is not None and version != self.seen:
            self.seen = version
            swapped = await self._load(version)
        await self._record()
        return swapped

    async def _load(self, version: str) -> bool:
        document = await published(self.redis)
        if document is None or document.get("version") != version:
            self.seen = None  # caught between two writes of a publish: look again next time
            return False
        try:
            rule_set = load_rules(document["files"], self.templates)
        except RuleError as error:
            await self._refuse(version, error.problems)
            return False
        if rule_set.version != self.current.version:
            self.apply(rule_set)
            log.info(
                "rule set %s in force (was %s), %d rules",
                rule_set.version,
                self.current.version,
                len(rule_set.rules),
            )
            self.current, self.loaded_at = rule_set, now_ms()
        return True

    async def _refuse(self, version: str, problems: list[str]) -> None:
        log.error(
            "rule set %s refused, %s keeps running:\n%s", version, self.current.version, "\n".join(problems)
        )
        record = {
            "version": version,
            "problems": problems,
            "at": now_ms(),
            "worker": self.worker,
            "in_force": self.current.version,
        }
        await self.redis.set(names.RULES_REFUSED, orjson.dumps(record))

    async def _record(self) -> None:
        if not self.report:
            return
        status = {
            "version": self.current.version,
            "loaded_at": self.loaded_at,
            "seen_at": now_ms(),
            "condition_failures": dict(self.current.failures),  # rule id -> failed at run time
        }
        await self.redis.hset(names.RULES_WORKERS, self.worker, orjson.dumps(status))

    async def forget(self) -> None:
        """The worker stops: it no longer runs any set."""
        try:
            await self.redis.hdel(names.RULES_WORKERS, self.worker)
        except RedisError as error:
            log.warning("rule set: cannot remove worker %s from Redis (%s)", self.worker, error)


def files_of_set(rule_set: RuleSet) -> dict[str, str]:
    return {Path(name).name: text for name, text in rule_set.files.items()}
