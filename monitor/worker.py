"""`tripwatch worker`: one faust worker process."""

from __future__ import annotations

import asyncio
import logging

import faust

from monitor.app import Monitor
from monitor.settings import Settings
from monitor.topics import ensure_topics
from rules.loader import load_rule_dir

log = logging.getLogger(__name__)


def run_worker(settings: Settings) -> None:
    """Load the rules (refusing a broken set), create topics, run until a signal."""
    rules = load_rule_dir(settings.rules_dir)
    log.info("rules %s loaded from %s (%d rules)", rules.version, settings.rules_dir, len(rules.rules))
    asyncio.run(ensure_topics(settings))
    monitor = Monitor(settings, rules)
    worker = faust.Worker(monitor.app, loglevel=settings.log_level.upper(), quiet=True)
    worker.execute_from_commandline()
