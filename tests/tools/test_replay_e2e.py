"""`tripwatch replay` produces a scenario to the real broker, keyed by order_id, times shifted to now."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from core import names
from tests.helpers import consume_record_until, consume_until, now_ms, partition_of


async def test_replay_keys_by_order_and_shifts_times(settings, tmp_path: Path, order_id: str):
    scenario = tmp_path / "replay.jsonl"
    lines = [
        {"at": 0, "topic": "trip-events", "event": {"event_id": f"{order_id}-c", "type": "order.created",
         "order_id": order_id, "passenger_id": "p", "pickup": {"lat": 1, "lon": 1},
         "dropoff": {"lat": 1, "lon": 2}, "promised_pickup_ts": 600}},
        {"at": 0.5, "topic": "passengers", "event": {"passenger_id": f"{order_id}-p", "name": "A", "locale": "en"}},
    ]  # fmt: skip
    scenario.write_text("\n".join(orjson.dumps(line).decode() for line in lines) + "\n")
    before = now_ms()
    result = subprocess.run(
        [sys.executable, "-m", "tripwatch.cli", "replay", str(scenario), "--speed", "4"],
        env=dict(os.environ) | settings.as_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "replayed 2 events" in result.stdout

    record = await consume_record_until(settings, names.TRIP_EVENTS, lambda m: m.get("order_id") == order_id)
    assert record.key == order_id.encode()
    assert record.partition == partition_of(order_id, settings.partitions)
    created = orjson.loads(record.value)
    assert before <= created["ts"] <= now_ms()
    assert created["promised_pickup_ts"] - created["ts"] == 150_000  # 600 s at 4x
    passenger = await consume_until(
        settings, names.PASSENGERS, lambda m: m["passenger_id"] == f"{order_id}-p"
    )
    assert "ts" not in passenger
