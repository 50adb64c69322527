"""The evaluation arithmetic on hand-built labels and incidents, as plain function calls."""

from __future__ import annotations

import pytest

from tools.evaluate import (
    EMBEDDED_EVENTS_PER_PARTITION,
    Observed,
    embedded_partitions,
    format_report,
    isolate,
    percentile,
    report_json,
    score,
)
from tools.scenario import ExpectedIncident, HardNegative, Scenario, ScheduledEvent

START = 1_700_000_000_000


def at(seconds: float) -> int:
    return START + int(seconds * 1000)


LABELS = [
    ExpectedIncident("sos", "o1", 10.0),
    ExpectedIncident("sos", "o2", 20.0),
    ExpectedIncident("sos", "o3", 30.0),
    ExpectedIncident("long_stop", "o4", 100.0),
    ExpectedIncident("long_stop", "o5", 200.0),
]
INCIDENTS = [
    Observed("sos", "o1", at(10.5)),
    Observed("sos", "o2", at(21.0)),
    Observed("sos", "o9", at(50.0)),  # no label: a false positive
    Observed("long_stop", "o4", at(281.0)),
    Observed("long_stop", "o5", at(380.0)),
    Observed("long_stop", "o5", at(500.0)),  # reopened later: the first opening counts
    Observed("sos", "o4", at(120.0)),  # a label of another kind does not match
]


def test_counts_precision_and_recall_per_kind() -> None:
    report = score(LABELS, INCIDENTS, START)
    sos, stop = report.kinds["sos"], report.kinds["long_stop"]
    assert (sos.true_positives, sos.false_positives, sos.misses) == (2, 2, 1)
    assert sos.precision == pytest.approx(0.5) and sos.recall == pytest.approx(2 / 3)
    assert (stop.true_positives, stop.false_positives, stop.misses) == (2, 0, 0)
    assert stop.precision == 1.0 and stop.recall == 1.0
    assert report.false_positive_orders == ["o4:sos", "o9:sos"]
    assert report.missed_orders == ["o3:sos"]
    assert list(report.kinds) == ["sos", "long_stop"]  # catalogue order


def test_time_to_detect_is_event_time_from_onset() -> None:
    report = score(LABELS, INCIDENTS, START)
    assert sorted(report.kinds["sos"].ttd_s) == pytest.approx([0.5, 1.0])
    assert sorted(report.kinds["long_stop"].ttd_s) == pytest.approx([180.0, 181.0])
    assert report.kinds["sos"].ttd_median_s == pytest.approx(0.75)
    assert report.kinds["long_stop"].ttd_p95_s == pytest.approx(181.0)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert percentile(values, 95) == 19.0
    assert percentile(values, 50) == 10.0
    assert percentile([3.0], 95) == 3.0
    assert percentile([], 95) is None


def test_nothing_expected_nothing_seen_has_no_ratio() -> None:
    report = score([ExpectedIncident("sos", "o1", 1.0)], [], START)
    assert report.kinds["sos"].precision is None and report.kinds["sos"].recall == 0.0
    assert not report.meets(0.97)
    assert "-" in format_report(report)


def test_hard_negatives_report_what_they_raised() -> None:
    negatives = [
        HardNegative("traffic_jam", "o7"),
        HardNegative("traffic_jam", "o8"),
        HardNegative("tunnel", "o6"),
    ]
    observed = [Observed("long_stop", "o7", at(5)), Observed("signal_lost", "o7", at(6))]
    report = score([], observed, START, negatives)
    assert report.negatives == {"traffic_jam": (2, ["o7:long_stop", "o7:signal_lost"]), "tunnel": (1, [])}
    assert report_json(report)["negatives"]["traffic_jam"]["trips"] == 2
    assert "o7:long_stop" in format_report(report)


def test_meets_the_bar_only_when_every_kind_does() -> None:
    good = score(LABELS[:3], INCIDENTS[:2] + [Observed("sos", "o3", at(31))], START)
    assert good.meets(0.97)
    assert not score(LABELS, INCIDENTS, START).meets(0.97)


def test_isolate_prefixes_every_id_and_keeps_the_rest() -> None:
    event = {"event_id": "e1", "type": "sos.pressed", "order_id": "o1", "ts": 3, "source": "passenger"}
    scenario = Scenario(
        "s",
        events=[ScheduledEvent(3.0, "safety-signals", event, 2)],
        expected=[ExpectedIncident("sos", "o1", 3.0)],
        negatives=[HardNegative("tunnel", "o2")],
    )
    isolated = isolate(scenario, "run1")
    assert isolated.events[0].event == {**event, "event_id": "run1-e1", "order_id": "run1-o1"}
    assert isolated.events[0].key == "run1-o1"
    assert isolated.expected[0].order_id == "run1-o1" and isolated.negatives[0].order_id == "run1-o2"
    assert scenario.events[0].event["order_id"] == "o1"  # the original is untouched


def test_an_embedded_evaluation_spreads_the_busiest_topic_over_enough_partitions() -> None:
    def events(topic: str, count: int) -> list[ScheduledEvent]:
        return [ScheduledEvent(i / 10, topic, {"order_id": f"o{i}"}, i) for i in range(count)]

    per_partition = EMBEDDED_EVENTS_PER_PARTITION
    small = Scenario("small", events=events("telemetry", per_partition * 3) + events("payments", 10))
    assert embedded_partitions(small, 8) == 8  # the configured count is enough
    busy = Scenario("busy", events=events("telemetry", per_partition * 20 + 1) + events("payments", 10))
    assert embedded_partitions(busy, 8) == 21  # no partition gets more than the limit
    assert embedded_partitions(Scenario("empty"), 4) == 4
