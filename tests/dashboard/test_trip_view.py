"""The trip view: the worker's trip log, the map with the deviation, people by role, the timeline."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import orjson
import pytest
import redis.asyncio as aioredis

from core import models
from core.geo import distance_to_route_m
from core.incidents import IncidentChange
from core.trip_log import TripLog, read_events, read_track
from dashboard.trip import off_route_m
from dashboard.trip_map import draw
from rules.loader import load_rules
from rules.reload import files_of
from tests.dashboard.test_access import sign_in

PACK = Path(__file__).resolve().parents[2] / "rules" / "pack"

ROUTE = [(52.520, 13.400), (52.520, 13.420), (52.520, 13.440)]  # due east along one parallel


def test_distance_to_route():
    assert distance_to_route_m((52.520, 13.410), ROUTE) < 1
    # 0.003 degrees of latitude north of the route is about 332 m
    assert 320 < distance_to_route_m((52.523, 13.430), ROUTE) < 345
    # beyond the end: the distance to the last point
    assert 1300 < distance_to_route_m((52.520, 13.460), ROUTE) < 1400


def test_draw_groups_the_points_off_the_route_into_stretches():
    off = [(52.523, 13.420), (52.5232, 13.425)]
    track = [(52.520, 13.401), (52.5205, 13.410), *off, (52.520, 13.430), (52.524, 13.435)]
    drawn = draw([[(52.5, 13.3), (52.5, 13.4)], ROUTE], track, [("pickup", "Pickup", ROUTE[0])], 150)
    assert drawn.off_route == [off, [(52.524, 13.435)]]
    assert drawn.max_deviation_m > 150
    assert drawn.route == ROUTE and drawn.routes == [[(52.5, 13.3), (52.5, 13.4)]]
    assert drawn.as_json()["points"] == [{"what": "pickup", "label": "Pickup", "at": ROUTE[0]}]


def test_the_map_takes_the_off_route_distance_of_the_rule_in_force():
    files = files_of(PACK)
    other = files["route_deviation.yaml"].replace("id: route-deviation", "id: route-deviation-wide")
    files["wide.yaml"] = other.replace("off_route_m: 150", "off_route_m: 420")
    rule_set = load_rules(files)
    assert off_route_m(rule_set, []) == 150  # none judged this trip: the first published
    assert off_route_m(rule_set, [{"rule_id": "route-deviation-wide"}]) == 420  # the one that judged it
    assert off_route_m(None, []) == 150  # no rule set published: the parameter's default


def test_draw_marks_off_route_by_the_threshold_it_is_given():
    track = [(52.520, 13.401), (52.523, 13.420), (52.524, 13.435)]  # about 0, 330 and 440 m off
    assert draw([ROUTE], track, [], 150).off_route == [track[1:]]
    assert draw([ROUTE], track, [], 400).off_route == [track[2:]]


@pytest.fixture
async def redis(settings):
    client = aioredis.from_url(settings.redis_dsn)
    yield client
    await client.aclose()


async def test_trip_log_keeps_events_once_and_samples_the_track(redis, order_id):
    log = TripLog(redis, max_events=50, track_interval_ms=5_000)
    started = models.TripStarted(
        event_id="e-1", order_id=order_id, ts=1_000, eta_dropoff_ts=9_000, route=ROUTE
    )
    await log.record(started)
    await log.record(started)  # a redelivery
    for second in range(20):
        ping = models.TelemetryPing(order_id=order_id, driver_id="d", ts=1_000 + second * 1000,
                                    lat=52.52, lon=13.40 + second / 1000, speed_kmh=30)  # fmt: skip
        await log.record(ping)
    events = await read_events(redis, order_id)
    assert [e["event_id"] for e in events] == ["e-1"]
    track = await read_track(redis, order_id)
    assert [p[0] for p in track] == [1_000, 6_000, 11_000, 16_000]


async def test_trip_page_by_role(board, users, redis, order_id):
    log = TripLog(redis, max_events=50, track_interval_ms=0)
    events = [
        models.OrderCreated(event_id="c", order_id=order_id, ts=1_000, passenger_id="p-trip",
                            pickup=models.Place(52.52, 13.40), dropoff=models.Place(52.52, 13.44),
                            promised_pickup_ts=2_000),
        models.DriverAssigned(event_id="a", order_id=order_id, ts=1_500, eta_pickup_ts=2_000,
                              driver=models.Driver(id="d", name="Jonas", plate="B-1",
                                                   phone="+4915199999999")),
        models.TripStarted(event_id="s", order_id=order_id, ts=3_000, eta_dropoff_ts=9_000, route=ROUTE),
    ]  # fmt: skip
    for event in events:
        await log.record(event)
    for n, lat in enumerate((52.520, 52.522, 52.5235, 52.521)):
        await log.record(models.TelemetryPing(order_id=order_id, driver_id="d", ts=4_000 + n * 1000,
                                              lat=lat, lon=13.41 + n / 200, speed_kmh=30))  # fmt: skip
    passenger = models.Passenger(passenger_id="p-trip", name="Anna", locale="en", phone="+4915112345678")
    await redis.set("tw:passenger:p-trip", msgspec.json.encode(passenger))
    from dashboard.keys import INCIDENT_STORE

    change = IncidentChange(action="open", kind="route_deviation", order_id=order_id, severity="medium")
    await board.app[INCIDENT_STORE].apply(change, 5_000)

    client, _, _ = await sign_in(board, users.supervisor)
    async with client, client.get(f"/trips/{order_id}") as response:
        supervisor_page = await response.text()
    client, _, _ = await sign_in(board, users.viewer)
    async with client, client.get(f"/trips/{order_id}") as response:
        viewer_page = await response.text()

    data = orjson.loads(re.search(r'<script type="application/json" id="trip-data">(.*?)</script>',
                                  supervisor_page, re.S).group(1))  # fmt: skip
    assert data["map"]["route"] == [list(p) for p in ROUTE] and len(data["map"]["track"]) == 4
    (stretch,) = data["map"]["off_route"]  # one stretch of two points
    assert [p[0] for p in stretch] == [52.522, 52.5235]
    assert "+4915112345678" in supervisor_page and "+4915199999999" in supervisor_page
    assert "+4915112345678" not in viewer_page and "+4915199999999" not in viewer_page
    for text in ("Order created; pickup promised for", "Trip started, ETA at the drop-off",
                 "Off route opened (medium)", "Driver Jonas (B-1) assigned"):  # fmt: skip
        assert text in viewer_page


async def test_unknown_order_is_not_found(board, users):
    client, _, _ = await sign_in(board, users.viewer)
    async with client, client.get("/trips/no-such-order-xyz") as response:
        assert response.status == 404
