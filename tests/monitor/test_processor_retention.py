"""The worker drops the state of finished trips after the retention window (cache and table)."""

from __future__ import annotations

from core.settings import Settings
from monitor.app import Monitor
from monitor.expiry import BUCKET_MS
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
        for state in trips:
            monitor._cache(state)
        monitor._drop_expired(now)
        assert set(monitor.cache) == {"ended-recently", "running"}
        assert set(table) == {b"ended-recently", b"running"}
        # a trip is looked at again when its time may have come, and not before
        states["running"].touch(now + HOUR_MS)  # it heard something since
        monitor._next_sweep_ms = 0
        monitor._drop_expired(now + 86_400_000)  # its old idle time: it is kept
        assert "running" in monitor.cache and "ended-recently" not in monitor.cache
        assert len(monitor.expiry) == 1
        monitor._next_sweep_ms = 0
        monitor._drop_expired(now + HOUR_MS + 86_400_001 + BUCKET_MS)  # at most a bucket late
        assert monitor.cache == {}
    finally:
        await monitor.redis.aclose()
