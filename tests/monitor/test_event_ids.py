"""A trip's recent event ids as 8-byte digests (monitor/event_ids.py)."""

from __future__ import annotations

import msgspec

from monitor.event_ids import RecentEventIds
from monitor.trip_state import TripState, decode_state, encode_state


def test_an_id_is_seen_once_within_the_window_and_forgotten_after_it():
    seen = RecentEventIds()
    assert seen.remember("e1", window=2) and not seen.remember("e1", window=2)
    assert seen.remember("e2", window=2) and seen.remember("e3", window=2)
    assert len(seen) == 2 and "e1" not in seen and "e3" in seen
    assert seen.remember("e1", window=2)  # out of the window: taken as new


def test_a_digest_is_matched_only_where_one_begins():
    seen = RecentEventIds()
    for n in range(64):
        seen.remember(f"event-{n}", window=256)
    # every 8-byte run straddling two digests is not a digest of its own
    packed = seen._digests
    straddling = {packed[k : k + 8] for k in range(1, len(packed) - 8) if k % 8}
    assert all(
        seen._holds(run) is (run in {packed[k : k + 8] for k in range(0, len(packed), 8)})
        for run in straddling
    )
    assert all(f"event-{n}" in seen for n in range(64)) and "event-64" not in seen


def test_a_stored_state_keeps_its_ids_and_reads_the_strings_of_an_older_state():
    state = TripState(order_id="o1")
    for event_id in ("o1-created", "o1-assigned"):
        state.remember_event(event_id, window=256)
    raw = encode_state(state)
    assert all(isinstance(n, int) for n in msgspec.json.decode(raw)["recent_event_ids"])
    assert decode_state(raw).recent_event_ids == state.recent_event_ids
    old = decode_state(b'{"order_id":"o1","recent_event_ids":["o1-created","o1-assigned"]}')
    assert old.recent_event_ids == state.recent_event_ids
    assert not old.remember_event("o1-created", window=256)  # a redelivery after the upgrade
