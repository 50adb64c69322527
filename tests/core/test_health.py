"""What /healthz decides from a snapshot: no services, every decision."""

from __future__ import annotations

from core.health import (
    CATCHING_UP_LAG,
    STALE_AFTER_MS,
    WORKER_REPORT_TTL_MS,
    Check,
    Snapshot,
    judge,
    lag_by_topic,
    report,
    workers_lag,
)

NOW = 1_800_000_000_000
UP = Check(True, 0.4)
DOWN = Check(False, 2000.0, "no answer within 2 s")


def worker(**changes: object) -> Snapshot:
    fields: dict[str, object] = {"taken_at_ms": NOW - 1000, "redis": UP, "broker": UP, "assigned": 4,
                                 "lag": {"telemetry": 3, "safety-signals": 0}}  # fmt: skip
    return Snapshot(**(fields | changes))  # type: ignore[arg-type]


def board(**changes: object) -> Snapshot:
    fields: dict[str, object] = {
        "taken_at_ms": NOW - 1000,
        "redis": UP,
        "broker": UP,
        "workers": 1,
        "lag": {},
    }
    return Snapshot(**(fields | changes))  # type: ignore[arg-type]


def test_a_healthy_worker_is_ok_with_200():
    verdict = judge(worker(), NOW)
    assert (verdict.status, verdict.http_status, verdict.problems) == ("ok", 200, [])


def test_redis_unreachable_is_down_with_503():
    verdict = judge(worker(redis=DOWN), NOW)
    assert (verdict.status, verdict.http_status) == ("down", 503)
    assert verdict.problems == ["Tripwatch cannot reach Redis; retrying"]


def test_broker_unreachable_is_down_with_503():
    verdict = judge(worker(broker=DOWN), NOW)
    assert (verdict.status, verdict.http_status) == ("down", 503)
    assert "event broker" in verdict.message


def test_a_worker_with_no_input_partition_is_down():
    assert judge(worker(assigned=0), NOW).status == "down"


def test_the_board_has_no_assignment_to_judge():
    assert judge(board(assigned=None), NOW).status == "ok"


def test_lag_above_the_limit_is_catching_up_and_still_200():
    """A worker reading its backlog after an outage must not be killed by its health check."""
    verdict = judge(worker(lag={"telemetry": CATCHING_UP_LAG, "trip-events": 5}), NOW)
    assert (verdict.status, verdict.http_status) == ("catching_up", 200)
    assert verdict.problems == [f"Catching up: {CATCHING_UP_LAG + 5} events behind"]


def test_lag_at_the_limit_is_ok():
    assert judge(worker(lag={"telemetry": CATCHING_UP_LAG}), NOW).status == "ok"


def test_unknown_lag_is_not_a_problem():
    assert judge(worker(lag=None), NOW).status == "ok"


def test_a_stale_snapshot_is_down():
    """The refresh runs on the worker's loop; a snapshot that stopped changing means the loop is stuck."""
    verdict = judge(worker(taken_at_ms=NOW - STALE_AFTER_MS - 1), NOW)
    assert verdict.status == "down"
    assert "not refreshed" in verdict.message


def test_no_snapshot_yet_is_down():
    assert judge(None, NOW).status == "down"


def test_no_worker_reporting_degrades_the_board_but_keeps_200():
    verdict = judge(board(workers=0), NOW)
    assert (verdict.status, verdict.http_status) == ("degraded", 200)
    assert "no detection worker" in verdict.message


def test_the_worst_problem_wins_and_is_said_first():
    verdict = judge(board(workers=0, broker=DOWN, lag={"telemetry": 10 * CATCHING_UP_LAG}), NOW)
    assert verdict.status == "down"
    assert verdict.problems[0] == "Tripwatch cannot reach the event broker; retrying"
    assert len(verdict.problems) == 3


def test_the_report_names_each_dependency():
    status, body = report(worker(redis=DOWN), NOW)
    assert status == 503
    assert body["status"] == "down"
    assert body["redis"] == {"ok": False, "latency_ms": 2000.0, "error": "no answer within 2 s"}
    assert body["broker"]["ok"] is True
    assert body["consumer"] == {"assigned_partitions": 4}
    assert body["consumer_lag"]["total"] == 3
    assert "workers" not in body


def test_the_report_before_any_check():
    status, body = report(None, NOW)
    assert status == 503
    assert body["status"] == "down" and "redis" not in body


def test_lag_by_topic_keeps_only_input_topics():
    lags = {("telemetry", 0): 5, ("telemetry", 1): 2, ("tripwatch-trips-changelog", 0): 900}
    assert lag_by_topic(lags, ("telemetry", "payments")) == {"telemetry": 7, "payments": 0}


def test_workers_lag_counts_fresh_reports_only():
    reports = [
        {"at": NOW - 1000, "lag": {"telemetry": 10}},
        {"at": NOW - 2000, "lag": {"telemetry": 5, "payments": 1}},
        {"at": NOW - WORKER_REPORT_TTL_MS - 1, "lag": {"telemetry": 999}},  # a worker that died
    ]
    assert workers_lag(reports, NOW) == (2, {"telemetry": 15, "payments": 1})


def test_no_fresh_report_means_no_worker_and_unknown_lag():
    assert workers_lag([{"at": NOW - 60_000, "lag": {}}], NOW) == (0, None)
