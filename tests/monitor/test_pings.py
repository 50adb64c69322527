"""A trip's pings packed (monitor/pings.py): read like the list they replace, stored the same way."""

from __future__ import annotations

import msgspec

from monitor.pings import Ping, PingTrack
from monitor.trip_state import TripState, decode_state, encode_state


def test_a_track_reads_like_the_list_of_its_pings():
    pings = [
        Ping(1_000, 52.5, 13.4, 30.0, 5.0),
        Ping(2_000, 52.6, 13.5, 0.0),
        Ping(3_000, 1e-9, -179.9, 7.25, 0.5),
    ]
    track = PingTrack(pings)
    assert list(track) == pings and len(track) == 3
    assert track[-1] == pings[-1] and track[1].accuracy_m is None
    assert track[1:] == pings[1:] and track.times() == [1_000, 2_000, 3_000]
    assert track == pings and track == PingTrack(pings)


def test_insert_keeps_the_order_and_the_newest():
    track = PingTrack([Ping(1_000, 1.0, 1.0, 1.0), Ping(3_000, 3.0, 3.0, 3.0)])
    track.insert(1, Ping(2_000, 2.0, 2.0, 2.0))
    track.insert(3, Ping(4_000, 4.0, 4.0, 4.0))
    track.keep_newest(3)
    assert track.times() == [2_000, 3_000, 4_000]
    track.keep_newest(0)
    assert len(track) == 0


def test_a_stored_state_keeps_its_pings_and_reads_the_list_form_back():
    state = TripState(
        order_id="o1",
        pings=PingTrack([Ping(1_000, 52.5, 13.4, 30.0, None), Ping(2_000, 52.5, 13.4, 0.0, 8.0)]),
    )
    raw = encode_state(state)
    assert msgspec.json.decode(raw)["pings"] == [
        [1_000, 52.5, 13.4, 30.0, None],
        [2_000, 52.5, 13.4, 0.0, 8.0],
    ]
    assert decode_state(raw).pings == state.pings
    old = b'{"order_id":"o1","pings":[[1000,52.5,13.4,30.0],[2000,52.5,13.4,0.0,8.0]]}'  # accuracy left out
    assert list(decode_state(old).pings) == list(state.pings)
