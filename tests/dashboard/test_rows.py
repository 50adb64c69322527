"""Board rows: order, deadlines, masking, and the shift's figures."""

from __future__ import annotations

from core.settings import Settings
from dashboard.figures import shift_figures
from dashboard.rows import board_order, make_row, masked

SETTINGS = Settings(ack_deadline_critical_s=60, ack_deadline_medium_s=600, ack_deadline_low_s=1800)


def incident(kind: str, severity: str, status: str = "open", detected_at: int = 0, **extra) -> dict:
    order_id = extra.pop("order_id", "o")
    return {
        "incident_id": f"{order_id}:{kind}", "kind": kind, "severity": severity, "status": status,
        "detected_at": detected_at, "order_id": order_id, **extra,
    }  # fmt: skip


def test_safety_first_then_unacknowledged_then_nearest_deadline():
    rows = [
        make_row(incident("trip_delay", "low", detected_at=0), {}, SETTINGS),  # due at 1,800 s
        make_row(incident("pickup_delay", "medium", detected_at=0), {}, SETTINGS),  # due at 600 s
        make_row(incident("signal_lost", "high", "acknowledged", detected_at=0), {}, SETTINGS),  # safety kind
        make_row(incident("route_deviation", "critical", detected_at=500_000), {}, SETTINGS),  # critical
        make_row(incident("sos", "critical", "resolved"), {}, SETTINGS),
    ]
    ordered = [r["kind"] for r in sorted(rows, key=board_order)]
    assert ordered == ["route_deviation", "signal_lost", "pickup_delay", "trip_delay", "sos"]
    assert rows[3]["ack_deadline"] == 560_000


def test_masking_reaches_nested_phones_only():
    row = {"details": {"driver": {"phone": "+4915199999999", "name": "Jonas"}, "list": [{"phone": "+123"}]}}
    hidden = masked(row)
    assert hidden["details"]["driver"] == {"phone": "+49•••••••••99", "name": "Jonas"}
    assert hidden["details"]["list"][0]["phone"] == "••••"
    assert row["details"]["driver"]["phone"] == "+4915199999999"  # the original is untouched


def test_shift_figures():
    rows = [
        make_row(
            incident("sos", "critical", "acknowledged", detected_at=1_000), {"acked_at": "31000"}, SETTINGS
        ),
        make_row(
            incident("pickup_delay", "medium", "resolved", detected_at=0, resolved_at=120_000),
            {"acked_at": "10000"},
            SETTINGS,
        ),  # fmt: skip
        make_row(incident("pickup_delay", "medium", detected_at=0, order_id="o2"), {}, SETTINGS),
    ]
    figures = shift_figures(rows, {"sent": 7, "failed": 1, "contacted_first": ["o:pickup_delay"]})
    assert figures["open_by_kind"] == {"pickup_delay": 1, "sos": 1}
    assert figures["mean_ack_s"] == 20.0 and figures["mean_resolve_s"] == 120.0
    assert (figures["messages_sent"], figures["messages_failed"]) == (7, 1)
    assert figures["contacted_first_share"] == round(1 / 3, 3)
    assert shift_figures(rows, None)["messages_sent"] is None
