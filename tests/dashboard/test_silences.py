"""The board's silences are outreach's silences (rules/silences.py): the form's input, the list in
words, create/list/remove over HTTP, and the "silenced" marks agreeing with `silence_for`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest

from core import names
from core.incidents import IncidentChange, incident_id_for
from dashboard import silences as board_silences
from dashboard.keys import INCIDENT_STORE, REDIS
from notifiers.model import IncidentView
from rules.silences import SilenceError, describe, in_force, new_silence, next_change_ms, remove, silence_for
from tests.dashboard.test_access import sign_in
from tests.dashboard.test_several_boards import next_message

BERLIN = "Europe/Berlin"


def utc(day: int, hour: int, minute: int = 0) -> int:
    return int(datetime(2026, 11, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


def now_ms() -> int:
    return int(time.time() * 1000)


# --- the form's input ------------------------------------------------------------------------


def test_form_makes_a_recurring_per_rule_silence():
    now = utc(25, 12)
    body = {
        "kind": "pickup_delay", "city": "berlin", "rule_id": "pickup-delay-vip", "starts_ms": utc(26, 0),
        "until_ms": utc(30, 5), "daily": "22:00-06:00", "timezone": BERLIN, "reason": "night works",
    }  # fmt: skip
    silence = board_silences.from_form(body, "anna", now)
    assert (silence.kind, silence.city, silence.rule_id) == ("pickup_delay", "berlin", "pickup-delay-vip")
    assert (silence.starts_ms, silence.until_ms) == (utc(26, 0), utc(30, 5))
    assert (silence.daily, silence.timezone, silence.created_by) == ("22:00-06:00", BERLIN, "anna")


def test_form_minutes_count_from_the_start_and_blanks_mean_any():
    now = utc(25, 12)
    silence = board_silences.from_form({"kind": " ", "minutes": "15", "starts_ms": utc(25, 13)}, "sam", now)
    assert (silence.kind, silence.city, silence.rule_id) == ("*", "*", "*")
    assert silence.until_ms == utc(25, 13, 15)
    assert board_silences.from_form({"minutes": 30}, "sam", now).starts_ms == now


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"minutes": 10, "daily": "22:00-6:00"}, "daily: expected HH:MM-HH:MM"),
        ({"minutes": 10, "daily": "22:00-06:00", "timezone": "Mars/Olympus"}, "timezone: unknown time zone"),
        ({"starts_ms": utc(26, 0), "until_ms": utc(25, 23)}, "until: the silence must end after it starts"),
        ({}, "until: give an end, or a number of minutes above 0"),
        ({"minutes": "soon"}, "minutes: expected a number"),
        ({"minutes": True}, "minutes: expected a number"),
        ({"until_ms": "NaN"}, "until_ms: expected a number"),
        ({"minutes": 10, "kind": ["sos"]}, "kind: expected text"),
        ({"minutes": 10, "city": "x" * 65}, "city: at most 64 characters"),
        ({"minutes": 91 * 24 * 60}, "until: a silence from the board lasts at most 90 days"),
    ],
)
def test_form_errors_name_the_field(body, error):
    with pytest.raises(SilenceError, match=f"^{error}"):
        board_silences.from_form(body, "sam", utc(25, 12))


# --- in words, and when the marks change --------------------------------------------------------


def test_a_silence_in_words():
    now = utc(25, 12)
    nightly = new_silence(
        kind="pickup_delay", city="berlin", until_ms=utc(30, 5), daily="22:00-06:00", timezone=BERLIN,
        now_ms=now, created_by="anna",
    )  # fmt: skip
    assert (
        describe(nightly, now)
        == "pickup_delay in berlin, daily 22:00-06:00 Europe/Berlin, until 30 Nov 06:00, by anna"
    )
    later = new_silence(
        rule_id="sos-vip", starts_ms=utc(26, 8), until_ms=utc(26, 9, 30), now_ms=now, reason="drill"
    )
    assert (
        describe(later, now)
        == "every kind everywhere, rule sos-vip, from 26 Nov 08:00 UTC, until 26 Nov 09:30 UTC: drill"
    )
    assert describe(later, utc(26, 8, 30)).startswith("every kind everywhere, rule sos-vip, until")


def test_next_change_is_the_next_edge_of_any_window():
    now = utc(25, 12)  # 13:00 in Berlin
    nightly = new_silence(daily="22:00-06:00", timezone=BERLIN, until_ms=utc(30, 5), now_ms=now)
    assert next_change_ms([nightly], now) == utc(25, 21)  # 22:00 Berlin
    assert next_change_ms([nightly], utc(25, 21)) == utc(26, 5)  # 06:00 Berlin, the next day
    ad_hoc = new_silence(starts_ms=utc(25, 15), until_ms=utc(25, 16), now_ms=now)
    assert next_change_ms([nightly, ad_hoc], now) == utc(25, 15)
    assert next_change_ms([nightly, ad_hoc], utc(25, 15)) == utc(25, 16)
    assert next_change_ms([nightly], utc(30, 4)) == utc(30, 5)  # the end, not the 06:00 after it
    assert next_change_ms([], now) is None


# --- over HTTP, against the session's Redis --------------------------------------------------------


def daily_around(moment_ms: int, zone: str, start_h: float, end_h: float) -> str:
    """A daily window from `start_h` to `end_h` hours after `moment_ms`, in `zone`'s local time."""
    local = datetime.fromtimestamp(moment_ms / 1000, ZoneInfo(zone))
    return f"{local + timedelta(hours=start_h):%H:%M}-{local + timedelta(hours=end_h):%H:%M}"


async def outreach_view(board, incident_id: str) -> IncidentView:
    """The incident as outreach decodes it (the stored JSON is what goes on the `incidents` topic)."""
    raw = await board.app[REDIS].get(names.incident_key(incident_id))
    return msgspec.json.decode(raw, type=IncidentView)


async def open_incident(board, order_id: str, kind: str, city: str, rule_id: str) -> str:
    change = IncidentChange(action="open", kind=kind, order_id=order_id, city=city, rule_id=rule_id)
    await board.app[INCIDENT_STORE].apply(change, now_ms())
    return incident_id_for(order_id, kind)


async def test_create_list_remove_and_marks_agree_with_outreach(board, users, order_id):
    city = f"city-{order_id[-8:]}"
    now = now_ms()
    held = await open_incident(board, f"{order_id}-a", "pickup_delay", city, "pickup-delay-vip")
    other_rule = await open_incident(board, f"{order_id}-b", "pickup_delay", city, "pickup-delay")
    off_window = await open_incident(board, f"{order_id}-c", "trip_delay", city, "trip-delay")
    client, _, csrf = await sign_in(board, users.supervisor)
    headers = {"Origin": board.url, "X-CSRF-Token": csrf}
    async with client:
        inside = {"kind": "pickup_delay", "city": city, "rule_id": "pickup-delay-vip", "minutes": 600,
                  "daily": daily_around(now, BERLIN, -1, 1), "timezone": BERLIN}  # fmt: skip
        outside = {"kind": "trip_delay", "city": city, "minutes": 600,
                   "daily": daily_around(now, BERLIN, 2, 3), "timezone": BERLIN}  # fmt: skip
        ids = []
        for body in (inside, outside):
            async with client.post("/api/silences", json=body, headers=headers) as response:
                assert response.status == 200, await response.text()
                ids.append((await response.json())["silence_id"])
        async with client.get("/api/silences") as response:
            listed = await response.json()
        mine = {s["silence_id"]: s for s in listed["silences"] if s["silence_id"] in ids}
        assert mine[ids[0]]["active"] and not mine[ids[1]]["active"]
        assert mine[ids[0]]["text"].startswith(
            f"pickup_delay in {city}, rule pickup-delay-vip, daily {inside['daily']} Europe/Berlin, until "
        )
        assert mine[ids[0]]["text"].endswith(f", by {users.supervisor}")
        assert listed["next_change"] is not None and listed["next_change"] > now

        redis, probe = board.app[REDIS], now_ms()
        expected = {}
        for incident_id in (held, other_rule, off_window):
            silence = await silence_for(redis, await outreach_view(board, incident_id), probe)
            expected[incident_id] = silence.silence_id if silence else None
        assert expected == {held: ids[0], other_rule: None, off_window: None}  # outreach's decision
        assert {i: listed["silenced"].get(i) for i in expected} == expected  # the board's marks
        async with client.get("/api/board") as response:
            rows = {r["incident_id"]: r for r in (await response.json())["rows"]}
        assert {i: rows[i]["silenced_by"] for i in expected} == expected

        for silence_id in ids:
            async with client.delete(f"/api/silences/{silence_id}", headers=headers) as response:
                assert response.status == 200
        async with client.delete(f"/api/silences/{ids[0]}", headers=headers) as response:
            assert response.status == 404
        async with client.get("/api/silences") as response:
            listed = await response.json()
        assert not set(ids) & {s["silence_id"] for s in listed["silences"]}
        assert held not in listed["silenced"]
        assert await silence_for(redis, await outreach_view(board, held), now_ms()) is None


async def test_refused_silence_is_a_400_naming_the_field_and_viewers_only_read(board, users):
    client, _, csrf = await sign_in(board, users.supervisor)
    headers = {"Origin": board.url, "X-CSRF-Token": csrf}
    async with client:
        bad = {"minutes": 60, "daily": "22:00-06:00", "timezone": "Berlin"}
        async with client.post("/api/silences", json=bad, headers=headers) as response:
            assert response.status == 400
            assert await response.text() == "timezone: unknown time zone 'Berlin'"
    viewer, _, csrf = await sign_in(board, users.viewer)
    async with viewer:
        headers = {"Origin": board.url, "X-CSRF-Token": csrf}
        async with viewer.post("/api/silences", json={"minutes": 5}, headers=headers) as response:
            assert response.status == 403
        async with viewer.get("/api/silences") as response:
            assert response.status == 200 and (await response.json())["type"] == "silences"


async def test_live_marks_on_the_websocket(board, users, order_id):
    city = f"city-{order_id[-8:]}"
    client, _, csrf = await sign_in(board, users.supervisor)
    headers = {"Origin": board.url, "X-CSRF-Token": csrf}
    async with client:
        ws = await client.ws_connect("/ws", headers={"Origin": board.url})
        await next_message(ws, lambda m: m["type"] == "snapshot")
        held = await open_incident(board, order_id, "trip_delay", city, "trip-delay")
        first = await next_message(ws, lambda m: m["type"] == "incident" and m["row"]["incident_id"] == held)
        assert first["row"]["silenced_by"] is None

        body = {"kind": "trip_delay", "city": city, "rule_id": "trip-delay", "minutes": 30}
        async with client.post("/api/silences", json=body, headers=headers) as response:
            silence_id = (await response.json())["silence_id"]
        update = await next_message(ws, lambda m: m["type"] == "silences" and held in m["silenced"])
        assert update["silenced"][held] == silence_id
        async with client.post(f"/api/incidents/{held}/take", json={}, headers=headers) as response:
            assert response.status == 200
        taken = await next_message(ws, lambda m: m["type"] == "incident" and m["row"]["incident_id"] == held)
        assert taken["row"]["silenced_by"] == silence_id  # a live change carries the mark too

        async with client.delete(f"/api/silences/{silence_id}", headers=headers) as response:
            assert response.status == 200
        await next_message(ws, lambda m: m["type"] == "silences" and held not in m["silenced"])
        await ws.close()


def next_local(after_ms: int, zone: str, hour: int) -> int:
    """The first `hour`:30 local time in `zone` after `after_ms`."""
    local = datetime.fromtimestamp(after_ms / 1000, ZoneInfo(zone))
    moment = local.replace(hour=hour, minute=30, second=0, microsecond=0)
    if moment <= local:
        moment += timedelta(days=1)
    return int(moment.timestamp() * 1000)


async def test_marks_agree_with_silence_for_inside_and_outside_the_nightly_window(board, users, order_id):
    city = f"city-{order_id[-8:]}"
    incident_id = await open_incident(board, order_id, "pickup_delay", city, "pickup-delay")
    client, _, csrf = await sign_in(board, users.supervisor)
    body = {
        "kind": "pickup_delay",
        "city": city,
        "minutes": 3 * 24 * 60,
        "daily": "22:00-06:00",
        "timezone": BERLIN,
    }
    async with (
        client,
        client.post(
            "/api/silences", json=body, headers={"Origin": board.url, "X-CSRF-Token": csrf}
        ) as response,
    ):
        silence_id = (await response.json())["silence_id"]
    redis, now = board.app[REDIS], now_ms()
    incident = await outreach_view(board, incident_id)
    row = {
        "incident_id": incident_id,
        "kind": incident.kind,
        "city": incident.city,
        "rule_id": incident.rule_id,
    }
    try:
        for moment, expected in (
            (next_local(now, BERLIN, 23), silence_id),
            (next_local(now, BERLIN, 12), None),
        ):
            outreach = await silence_for(redis, incident, moment)
            marks = board_silences.message(await in_force(redis, moment), [row], moment)["silenced"]
            assert (outreach.silence_id if outreach else None) == expected
            assert marks.get(incident_id) == expected
    finally:
        await remove(redis, silence_id)
