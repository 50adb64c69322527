"""`tripwatch evaluate`: run detection over a scenario through the real broker and score it.

The scenario is replayed at real pace (rule thresholds are real seconds, and the worker's
deadlines run on the wall clock), with its ids prefixed by a run id so that the run sees
only its own trips. Incidents are read back from Redis, where each one keeps the time it
first opened. Scoring is plain arithmetic over labels and incidents (`score`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis

from core import names
from core.settings import Settings
from tools import checkin_report
from tools.scenario import ExpectedIncident, HardNegative, Scenario, ScheduledEvent
from tools.simulator.config import INCIDENT_KINDS
from tools.told import (
    ToldFirstReport,
    collect_told_first,
    format_told_first,
    has_contacts,
    outreach_for_run,
    told_check,
)

log = logging.getLogger(__name__)

CATALOGUE = INCIDENT_KINDS  # the report's order: the simulated catalogue's, then other kinds sorted
ID_FIELDS = ("order_id", "event_id", "passenger_id", "payment_id")

# The embedded broker (Tansu) serves a partition more slowly the more record batches it holds:
# past about 10,000 a consumer at its tail falls behind for good (bench/broker_batches.py). A
# replayed event can be a batch of its own (replay groups what is due within 0.1 s, often one
# event per partition), so an evaluation on its own embedded broker spreads the scenario over
# enough partitions that none holds more events than this.
EMBEDDED_EVENTS_PER_PARTITION = 6_000


# --- scoring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Observed:
    """An incident as the run saw it: first opened at `opened_at` (ms since the epoch)."""

    kind: str
    order_id: str
    opened_at: int


@dataclass
class KindScore:
    kind: str
    true_positives: int = 0
    false_positives: int = 0
    misses: int = 0
    ttd_s: list[float] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else None

    @property
    def recall(self) -> float | None:
        wanted = self.true_positives + self.misses
        return self.true_positives / wanted if wanted else None

    @property
    def ttd_median_s(self) -> float | None:
        return statistics.median(self.ttd_s) if self.ttd_s else None

    @property
    def ttd_p95_s(self) -> float | None:
        return percentile(self.ttd_s, 95)


@dataclass
class Report:
    kinds: dict[str, KindScore]
    negatives: dict[str, tuple[int, list[str]]]  # case -> (trips, incidents raised on them)
    false_positive_orders: list[str] = field(default_factory=list)
    missed_orders: list[str] = field(default_factory=list)
    told_first: ToldFirstReport | None = None  # scenarios with support contacts (tools.told)

    def meets(self, bar: float) -> bool:
        """Every kind with labels or incidents reaches `bar` in precision and recall."""
        for score in self.kinds.values():
            for value in (score.precision, score.recall):
                if value is not None and value < bar:
                    return False
        return True


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (the smallest value with `pct`% of values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def score(
    expected: list[ExpectedIncident],
    observed: list[Observed],
    start_ms: int,
    negatives: list[HardNegative] = (),  # type: ignore[assignment]
) -> Report:
    """Match incidents to labels by (kind, order_id); time to detect in event time from the onset."""
    labels: dict[tuple[str, str], float | None] = {}
    for label in expected:
        labels.setdefault((label.kind, label.order_id), label.onset_s)
    seen: dict[tuple[str, str], int] = {}
    for incident in observed:
        key = (incident.kind, incident.order_id)
        seen[key] = min(seen.get(key, incident.opened_at), incident.opened_at)
    kinds = {kind: KindScore(kind) for kind in _ordered({k for k, _ in labels} | {k for k, _ in seen})}
    report = Report(kinds, {})
    for key, onset in labels.items():
        kind_score = kinds[key[0]]
        if key in seen:
            kind_score.true_positives += 1
            if onset is not None:
                kind_score.ttd_s.append((seen[key] - start_ms) / 1000 - onset)
        else:
            kind_score.misses += 1
            report.missed_orders.append(f"{key[1]}:{key[0]}")
    for key in seen.keys() - labels.keys():
        kinds[key[0]].false_positives += 1
        report.false_positive_orders.append(f"{key[1]}:{key[0]}")
    report.false_positive_orders.sort()
    report.missed_orders.sort()
    report.negatives = _negatives(negatives, seen)
    return report


def _ordered(kinds: set[str]) -> list[str]:
    known = [k for k in CATALOGUE if k in kinds]
    return known + sorted(kinds - set(CATALOGUE))


def _negatives(negatives: Any, seen: dict[tuple[str, str], int]) -> dict[str, tuple[int, list[str]]]:
    by_order: dict[str, list[str]] = {}
    for kind, order_id in seen:
        by_order.setdefault(order_id, []).append(kind)
    result: dict[str, tuple[int, list[str]]] = {}
    for negative in negatives:
        trips, raised = result.get(negative.case, (0, []))
        raised = raised + [f"{negative.order_id}:{k}" for k in sorted(by_order.get(negative.order_id, []))]
        result[negative.case] = (trips + 1, raised)
    return dict(sorted(result.items()))


def format_report(report: Report) -> str:
    head = (
        f"{'kind':<22}{'TP':>6}{'FP':>6}{'miss':>6}{'precision':>11}{'recall':>8}"
        f"{'TTD p50':>10}{'TTD p95':>10}"
    )
    lines = [head, "-" * len(head)]
    for s in report.kinds.values():
        lines.append(
            f"{s.kind:<22}{s.true_positives:>6}{s.false_positives:>6}{s.misses:>6}"
            f"{_ratio(s.precision):>11}{_ratio(s.recall):>8}{_secs(s.ttd_median_s):>10}{_secs(s.ttd_p95_s):>10}"
        )
    if report.told_first is not None:
        lines += ["", format_told_first(report.told_first)]
    if report.negatives:
        lines += ["", f"{'hard negative':<22}{'trips':>6}  incidents raised on them"]
        for case, (trips, raised) in report.negatives.items():
            lines.append(
                f"{case:<22}{trips:>6}  {len(raised)}{'  ' + ', '.join(raised[:5]) if raised else ''}"
            )
    lines += checkin_report.format_summary(report)
    for title, items in (("false positives", report.false_positive_orders), ("misses", report.missed_orders)):
        if items:
            more = f" (+{len(items) - 10} more)" if len(items) > 10 else ""
            lines.append(f"\n{title}: {', '.join(items[:10])}{more}")
    return "\n".join(lines)


def report_json(report: Report) -> dict[str, Any]:
    return {
        "kinds": {
            s.kind: {
                "true_positives": s.true_positives,
                "false_positives": s.false_positives,
                "misses": s.misses,
                "precision": s.precision,
                "recall": s.recall,
                "ttd_median_s": s.ttd_median_s,
                "ttd_p95_s": s.ttd_p95_s,
            }
            for s in report.kinds.values()
        },
        "negatives": {
            case: {"trips": n, "incidents": raised} for case, (n, raised) in report.negatives.items()
        },
        "false_positives": report.false_positive_orders,
        "misses": report.missed_orders,
        "told_first": None
        if report.told_first is None
        else {
            **report.told_first.figures,
            "failing": report.told_first.failing(),
            "bar": report.told_first.bar,
        },
        "stop_checkin": checkin_report.summary(report),
    }


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


# --- isolating a run ------------------------------------------------------------------------


def isolate(scenario: Scenario, run_id: str) -> Scenario:
    """The scenario with every id prefixed by `run_id`, so runs and tests never mix trips."""

    def tag(value: Any) -> Any:
        return f"{run_id}-{value}" if isinstance(value, str) else value

    events = [
        ScheduledEvent(
            item.at_s,
            item.topic,
            {k: tag(v) if k in ID_FIELDS else v for k, v in item.event.items()},
            item.line,
            tag(item.unless_told) if item.unless_told else None,
        )
        for item in scenario.events
    ]
    expected = [replace(label, order_id=tag(label.order_id)) for label in scenario.expected]
    negatives = [replace(n, order_id=tag(n.order_id)) for n in scenario.negatives]
    return Scenario(scenario.name, scenario.description, events, expected, negatives)


async def collect(redis_dsn: str, run_id: str) -> list[Observed]:
    """Every incident of the run, from Redis (it keeps when each first opened)."""
    client = aioredis.from_url(redis_dsn)
    observed = []
    try:
        keys = [key async for key in client.scan_iter(match=names.incident_key(f"{run_id}-*"), count=1000)]
        for start in range(0, len(keys), 500):
            for raw in await client.mget(keys[start : start + 500]):
                if raw:
                    incident = orjson.loads(raw)
                    opened = incident.get("opened_at") or incident["detected_at"]
                    observed.append(Observed(incident["kind"], incident["order_id"], int(opened)))
    finally:
        await client.aclose()
    return observed


def embedded_partitions(scenario: Scenario, configured: int) -> int:
    """Partitions for an evaluation's own embedded broker: the configured count, or more where the
    busiest topic would put over EMBEDDED_EVENTS_PER_PARTITION events in one partition."""
    per_topic = Counter(item.topic for item in scenario.events)
    busiest = max(per_topic.values(), default=0)
    return max(configured, math.ceil(busiest / EMBEDDED_EVENTS_PER_PARTITION))


# --- a run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOptions:
    settle_s: float = 15.0  # wait after the last event for deadlines and lag
    start_worker: bool = True  # and, for a scenario with support contacts, outreach (tools.told)
    lead_s: float = 1.0  # scenario second 0 is this far after the replay is ready
    told_first_bar: float = 0.95  # a messaged kind below this told-first share fails (tools.told)


async def evaluate(
    settings: Settings, scenario: Scenario, options: RunOptions
) -> tuple[Report, dict[str, float]]:
    """Replay `scenario` (isolated) through the broker the settings name and score the incidents.

    A worker must be consuming that broker (see `run_evaluation` for one that starts it all).
    """
    from tools.replay import replay

    run_id = "ev" + uuid.uuid4().hex[:8]
    isolated = isolate(scenario, run_id)
    start_ms = int(time.time() * 1000 + options.lead_s * 1000)
    began = time.monotonic()
    redis = aioredis.from_url(settings.redis_dsn)
    try:
        count = await replay(settings, isolated, 1.0, start_ms=start_ms, skip=told_check(redis))
    finally:
        await redis.aclose()
    replayed = time.monotonic() - began
    await asyncio.sleep(options.settle_s)
    observed = await collect(settings.redis_dsn, run_id)
    unprefixed = [Observed(o.kind, o.order_id.removeprefix(run_id + "-"), o.opened_at) for o in observed]
    report = score(scenario.expected, unprefixed, start_ms, scenario.negatives)
    if has_contacts(scenario):
        incidents = [(o.kind, o.order_id) for o in unprefixed]
        report.told_first = await collect_told_first(
            settings.redis_dsn, run_id, incidents, options.told_first_bar
        )
    figures = {
        "partitions": settings.partitions,
        "events": count,
        "replay_s": round(replayed, 1),
        "events_per_s": round(count / max(replayed, 1e-3)),
    }
    return report, figures


# Starts the embedded services the settings ask for (their files under the folder, stopped when the
# stack closes) and returns the settings that name them: the command line passes
# tripwatch.embedded.start_missing (tools import nothing from the composition root).
StartServices = Callable[[Settings, Path, ExitStack], Settings]


def run_evaluation(
    settings: Settings, scenario: Scenario, options: RunOptions, start_services: StartServices
) -> tuple[Report, dict[str, float]]:
    """Start what is missing (embedded broker and Redis, a worker), evaluate, stop it all."""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tripwatch-eval-")))
        if settings.embedded_kafka:
            settings = settings.replace(partitions=embedded_partitions(scenario, settings.partitions))
        settings = start_services(settings, folder, stack)
        from monitor.topics import ensure_topics

        asyncio.run(ensure_topics(settings))
        if options.start_worker:
            stack.enter_context(_worker(settings, folder))
            if has_contacts(scenario):  # told first or not: outreach must speak
                stack.enter_context(outreach_for_run(settings, folder))
        return asyncio.run(evaluate(settings, scenario, options))
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def _worker(settings: Settings, folder: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A `tripwatch worker` with its own app id (consumer group), ready to consume."""
    from monitor.worker import worker_process

    isolated = settings.replace(app_id=f"tripwatch-eval-{uuid.uuid4().hex[:8]}", worker_metrics_port=0)
    with worker_process(isolated, folder / "worker.log") as process:
        yield process


def evaluate_file(
    settings: Settings,
    path: Path,
    options: RunOptions,
    start_services: StartServices,
    json_path: Path | None = None,
) -> tuple[str, Report]:
    """Evaluate a scenario file; the printable report (and the JSON file, if asked)."""
    from tools.scenario import load_scenario

    report, figures = run_evaluation(settings, load_scenario(path), options, start_services)
    text = format_report(report) + (
        f"\n\n{figures['events']} events replayed in {figures['replay_s']} s ({figures['events_per_s']}/s)"
        f" over {figures['partitions']} partitions"
    )
    if json_path is not None:
        document = {**report_json(report), "run": figures}
        json_path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return text, report
