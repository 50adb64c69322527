"""The worker drops the state of finished trips after the retention window (cache and table)."""

from __future__ import annotations

from core.settings import Settings
from monitor.app import Monitor
from monitor.trip_state import TripState, encode_state
from rules.loader import load_rule_dir
from tests.monitor.trips import PACK

HOUR_MS = 3_600_000


async def test_finished_trips_leave_cache_and_table_after_retention(tmp_path):
    settings = Settings(
        kafka_url="kafka://127.0.0.1:1", redis_url="redis://127.0.0.1:1/0", data_dir=tmp_path,
        trip_retention_s=3600, trip_idle_timeout_s=86_400,
    )  # fmt: skip
    monitor = Monitor(settings, load_rule_dir(PACK))
    try:
        now = 10 * 86_400_000
        trips = [
            TripState(order_id="ended-long-ago", ended_ts=now - HOUR_MS - 1, last_event_ts=now - HOUR_MS),
            TripState(order_id="ended-recently", ended_ts=now - 1000, last_event_ts=now - 1000),
            TripState(order_id="running", last_event_ts=now - 1000),
            TripState(order_id="abandoned", last_event_ts=now - 86_400_001),
        ]
        states = {state.order_id: state for state in trips}
        table = {key.encode(): encode_state(state) for key, state in states.items()}
        monitor.trips = table  # the faust table needs a running app; its dict interface is what is used
        monitor.cache = dict(states)
        monitor._drop_expired(now)
        assert set(monitor.cache) == {"ended-recently", "running"}
        assert set(table) == {b"ended-recently", b"running"}
    finally:
        await monitor.redis.aclose()
