"""A trip's pings packed (monitor/pings.py): read like the list they replace, stored the same way."""

from __future__ import annotations

import math
import sys

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


def test_pings_as_a_phone_writes_them_take_20_bytes_and_come_back_exactly():
    pings = [
        Ping(1_700_000_000_000 + n * 3_000, round(52.5123456 + n * 1e-7, 7), 13.4, 31.425, 4.5)
        for n in range(16)
    ]
    track = PingTrack(pings)
    assert sys.getsizeof(track.packed()[1]) < sys.getsizeof(b"") + 8 + 16 * 20 + 1
    assert list(track) == pings  # every double exactly as decoded from the JSON
    assert PingTrack.from_packed(*track.packed()) == pings


def test_a_ping_the_compact_form_cannot_hold_exactly_widens_the_track_losing_nothing():
    track = PingTrack([Ping(1_000, 52.5, 13.4, 30.0, None), Ping(2_000, 52.51, 13.41, 31.0, 5.0)])
    assert track.packed()[0]  # compact
    for odd in (
        Ping(3_000, 52.123456789, 13.4, 30.0),  # nine decimals
        Ping(3_000, 52.5, 13.4, 1 / 3),  # no finite decimal
        Ping(3_000, 52.5, 13.4, 30.0, math.nan),
        Ping(40 * 86_400_000, 52.5, 13.4, 30.0),  # 40 days after the first ping
        Ping(3_000, 52.5, 13.4, math.inf),
    ):
        widened = PingTrack.from_packed(*track.packed())
        widened.insert(len(widened), odd)
        assert not widened.packed()[0]
        assert widened.times() == [1_000, 2_000, odd.ts]
        assert widened[:2] == list(track)
        assert widened[-1].speed_kmh == odd.speed_kmh or math.isnan(odd.accuracy_m or 0)
        assert widened[-1].lat == odd.lat
    assert not PingTrack([Ping(1_000, 1e-9, 13.4, 30.0)]).packed()[0]  # built wide from the start


def test_an_older_ping_goes_before_the_base_of_a_compact_track():
    track = PingTrack([Ping(5_000, 52.5, 13.4, 30.0)])
    track.insert(0, Ping(2_000, 52.4, 13.3, 20.0, 3.0))
    assert track.packed()[0] and track.times() == [2_000, 5_000]
    assert track[0] == Ping(2_000, 52.4, 13.3, 20.0, 3.0)
