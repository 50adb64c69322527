"""What `/healthz` says, on the worker and on the board: plain decisions over a snapshot.

A process refreshes a `Snapshot` every few seconds (Redis PING, a broker metadata request,
the consumer's assignment and lag; see monitor.worker_health and dashboard.health) and
`/healthz` judges the latest one. Judging is pure, so every decision is tested without
services, and a request costs no I/O.

Statuses, worst last: `ok` and `catching_up` answer 200, `degraded` answers 200 (the
process itself works, something beyond it is missing), `down` answers 503. Catching up is
not a failure: a worker that reads a backlog after an outage is doing exactly what it
should, and a health check that killed it would only make the backlog longer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "catching_up", "degraded", "down"]
RANK: dict[Status, int] = {"ok": 0, "catching_up": 1, "degraded": 2, "down": 3}
REFRESH_S = 2.0  # how often a process refreshes its snapshot
PROBE_TIMEOUT_S = 2.0  # a dependency slower than this to answer counts as down
STALE_AFTER_MS = 15_000  # a snapshot this old means the refresh itself is stuck
CATCHING_UP_LAG = 1_000  # input events not yet read above which a worker is catching up
WORKER_REPORT_TTL_MS = 15_000  # a worker's report older than this is not counted


@dataclass(frozen=True)
class Check:
    """One dependency's last answer: reached or not, how fast, and the error if not."""

    ok: bool
    latency_ms: float = 0.0
    error: str = ""


@dataclass(frozen=True)
class Snapshot:
    """What a process last saw of its dependencies.

    `assigned` (input partitions this worker reads) is None on the board; `workers`
    (workers that reported lately) is None on the worker. `lag` is by topic, None when unknown.
    """

    taken_at_ms: int
    redis: Check
    broker: Check
    assigned: int | None = None
    lag: dict[str, int] | None = None
    workers: int | None = None
    broker_warning: str | None = None  # the embedded broker near its limit (tripwatch.broker_watch)


@dataclass
class Latest:
    """The latest snapshot, replaced whole by a refresher and read by `/healthz`."""

    snapshot: Snapshot | None = None


@dataclass(frozen=True)
class Verdict:
    status: Status
    problems: list[str] = field(default_factory=list)

    @property
    def http_status(self) -> int:
        return 503 if self.status == "down" else 200

    @property
    def message(self) -> str:
        return "; ".join(self.problems) if self.problems else "all good"


def total_lag(snapshot: Snapshot) -> int | None:
    return None if snapshot.lag is None else sum(snapshot.lag.values())


def findings(snapshot: Snapshot, now_ms: int, lag_limit: int = CATCHING_UP_LAG) -> list[tuple[Status, str]]:
    """Every problem in the snapshot, each with the status it deserves."""
    found: list[tuple[Status, str]] = []
    age_s = (now_ms - snapshot.taken_at_ms) / 1000
    if age_s * 1000 > STALE_AFTER_MS:
        found.append(("down", f"health not refreshed for {age_s:.0f} s"))
    if not snapshot.redis.ok:
        found.append(("down", "Tripwatch cannot reach Redis; retrying"))
    if not snapshot.broker.ok:
        found.append(("down", "Tripwatch cannot reach the event broker; retrying"))
    if snapshot.assigned == 0:
        found.append(("down", "no input partition assigned: joining the consumer group"))
    if snapshot.workers == 0:
        found.append(("degraded", "no detection worker is reporting: incidents may go undetected"))
    if snapshot.broker_warning:
        found.append(("degraded", snapshot.broker_warning))
    lag = total_lag(snapshot)
    if lag is not None and lag > lag_limit:
        found.append(("catching_up", f"Catching up: {lag} events behind"))
    return found


def judge(snapshot: Snapshot | None, now_ms: int, lag_limit: int = CATCHING_UP_LAG) -> Verdict:
    if snapshot is None:
        return Verdict("down", ["starting: no health check has run yet"])
    found = findings(snapshot, now_ms, lag_limit)
    if not found:
        return Verdict("ok")
    worst = max(found, key=lambda item: RANK[item[0]])[0]
    ordered = sorted(found, key=lambda item: -RANK[item[0]])  # the worst problem is said first
    return Verdict(worst, [text for _, text in ordered])


def report(
    snapshot: Snapshot | None, now_ms: int, lag_limit: int = CATCHING_UP_LAG
) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body of `/healthz`."""
    verdict = judge(snapshot, now_ms, lag_limit)
    body: dict[str, Any] = {
        "status": verdict.status,
        "message": verdict.message,
        "problems": verdict.problems,
    }
    if snapshot is not None:
        body |= {
            "checked_at": snapshot.taken_at_ms,
            "redis": _check(snapshot.redis),
            "broker": _check(snapshot.broker),
            "consumer_lag": {
                "total": total_lag(snapshot),
                "by_topic": snapshot.lag,
                "catching_up_above": lag_limit,
            },
        }
        if snapshot.assigned is not None:
            body["consumer"] = {"assigned_partitions": snapshot.assigned}
        if snapshot.workers is not None:
            body["workers"] = {"reporting": snapshot.workers}
    return verdict.http_status, body


def _check(check: Check) -> dict[str, Any]:
    return {"ok": check.ok, "latency_ms": round(check.latency_ms, 1), "error": check.error}


def lag_by_topic(lag_by_partition: dict[tuple[str, int], int], topics: tuple[str, ...]) -> dict[str, int]:
    """Sum partition lags per topic, keeping only `topics` (changelogs are not the worker's backlog)."""
    totals = dict.fromkeys(topics, 0)
    for (topic, _partition), lag in lag_by_partition.items():
        if topic in totals:
            totals[topic] += lag
    return totals


def workers_lag(reports: list[dict[str, Any]], now_ms: int) -> tuple[int, dict[str, int] | None]:
    """From workers' reports in Redis: how many are fresh, and their summed lag by topic."""
    fresh = [r for r in reports if now_ms - int(r.get("at", 0)) <= WORKER_REPORT_TTL_MS]
    if not fresh:
        return 0, None
    totals: dict[str, int] = {}
    for entry in fresh:
        for topic, lag in (entry.get("lag") or {}).items():
            totals[topic] = totals.get(topic, 0) + int(lag)
    return len(fresh), totals
