"""The trip view: the order's whole timeline, its map, the people and the case."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import msgspec
import orjson
import redis.asyncio as aioredis
from aiohttp import web

from core import names
from core.trip_log import read_events, read_track
from dashboard import outreach, trip_map
from dashboard import trip_words as words
from dashboard.access import Session
from dashboard.keys import REDIS, ROWS, SETTINGS, session_of
from dashboard.rows import masked
from rules.loader import RuleSet
from rules.overview import published_set
from rules.params import DETECTOR_PARAMS

routes = web.RouteTableDef()


@routes.get("/trips/{order_id}")
@aiohttp_jinja2.template("trip.html")
async def trip_page(request: web.Request) -> dict[str, Any]:
    order_id, redis, session = request.match_info["order_id"], request.app[REDIS], session_of(request)
    events = await read_events(redis, order_id)
    incidents = await _incident_history(redis, order_id)
    actions = [orjson.loads(raw) for raw in await redis.lrange(names.audit_order_key(order_id), 0, -1)]
    messages = await outreach.messages_for_order(redis, order_id)
    if not (events or incidents):
        raise web.HTTPNotFound(text=f"nothing is known of order {order_id}")
    track = await read_track(redis, order_id)
    case = await outreach.case_for_order(redis, order_id)
    current = await request.app[ROWS].rows(_latest_per_incident(incidents))
    settings = request.app[SETTINGS]
    _, rule_set, _ = await published_set(redis)
    return {
        "session": session,
        "order_id": order_id,
        "timeline": timeline(
            events if session.can_see_phones else masked(events), incidents, actions, messages
        ),
        "current": [{**row, "label": words.kind_label(row["kind"])} for row in current],
        "passenger": await _passenger(redis, events, session),
        "driver": _driver(events, session),
        "map": _map(events, track, incidents, off_route_m(rule_set, incidents)).as_json(),
        "tiles": {"url": settings.map_tile_url, "attribution": settings.map_tile_attribution},
        "case": words.case_lines(case, messages) if case else None,
        "at": words.at,
    }


def timeline(
    events: list[dict[str, Any]],
    incidents: list[dict[str, Any]],
    actions: list[dict[str, Any]],
    messages: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Everything that happened to the order, oldest first, each as a sentence (`parts`)."""
    entries = [{"at": e.get("ts", 0), "what": "event", "parts": words.event_parts(e)} for e in events]
    before: dict[str, dict[str, Any]] = {}
    for incident in sorted(incidents, key=lambda i: i["revision"]):
        at = incident.get("updated_at") or incident.get("detected_at", 0)
        parts = words.incident_parts(incident, before.get(incident["incident_id"]))
        entries.append({"at": at, "what": "incident", "parts": parts})
        before[incident["incident_id"]] = incident
    entries += [{"at": a["at"], "what": "action", "parts": words.action_parts(a)} for a in actions]
    entries += [{"at": m.get("at", 0), "what": "message", "parts": words.message_parts(m)} for m in messages]
    return sorted(entries, key=lambda e: e["at"])


async def _incident_history(redis: aioredis.Redis, order_id: str) -> list[dict[str, Any]]:
    raws = await redis.lrange(names.incident_history_key(order_id), 0, -1)
    seen: set[tuple[str, int]] = set()
    history = []
    for incident in (orjson.loads(raw) for raw in raws):
        key = (incident["incident_id"], incident["revision"])
        if key not in seen:
            seen.add(key)
            history.append(incident)
    return history


def _latest_per_incident(incidents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for incident in incidents:
        known = latest.get(incident["incident_id"])
        if known is None or incident["revision"] > known["revision"]:
            latest[incident["incident_id"]] = incident
    return list(latest.values())


async def _passenger(redis: aioredis.Redis, events: list[dict[str, Any]], session: Session) -> dict | None:
    passenger_id = next((e["passenger_id"] for e in events if e.get("passenger_id")), None)
    if passenger_id is None:
        return None
    raw = await redis.get(names.passenger_key(passenger_id))
    passenger = msgspec.json.decode(raw) if raw else {"passenger_id": passenger_id}
    passenger.pop("push_token", None)
    return passenger if session.can_see_phones else masked(passenger)


def _driver(events: list[dict[str, Any]], session: Session) -> dict | None:
    drivers = [e["driver"] for e in events if e.get("type") == "driver.assigned" and e.get("driver")]
    if not drivers:
        return None
    return drivers[-1] if session.can_see_phones else masked(drivers[-1])


def off_route_m(rule_set: RuleSet | None, incidents: list[dict[str, Any]]) -> float:
    """The off-route distance in force for this trip: the route-deviation rule that judged it,
    else the first one published, else the parameter's default."""
    rules = rule_set.for_detector("route_deviation") if rule_set else []
    judged = {i.get("rule_id") for i in incidents}
    rule = next((r for r in rules if r.id in judged), rules[0] if rules else None)
    params = rule.params if rule else DETECTOR_PARAMS["route_deviation"]()  # registered by monitor.detectors
    return float(params.off_route_m)


def _map(
    events: list[dict[str, Any]],
    track: list[tuple[int, float, float, float]],
    incidents: list[dict[str, Any]],
    off_route_m: float,
) -> trip_map.TripMap:
    routes = [[(p[0], p[1]) for p in e["route"]] for e in events if e.get("route")]
    points: list[tuple[str, str, trip_map.LatLon]] = []
    created = next((e for e in events if e.get("type") == "order.created"), None)
    if created:
        points.append(("pickup", "Pickup", (created["pickup"]["lat"], created["pickup"]["lon"])))
        points.append(("dropoff", "Drop-off", (created["dropoff"]["lat"], created["dropoff"]["lon"])))
    for e in events:  # safety signals carry where they happened
        if str(e.get("type", "")).startswith(("sos.", "crash.", "safety.")) and e.get("lat") is not None:
            points.append((str(e["type"]).split(".")[0], words.event_parts(e)[0], (e["lat"], e["lon"])))
    for i in _latest_per_incident(incidents):  # SOS, crash, long stop: where the detector saw it
        where = i.get("details") or {}
        if isinstance(where.get("lat"), int | float) and isinstance(where.get("lon"), int | float):
            points.append((i["kind"], words.kind_label(i["kind"]), (where["lat"], where["lon"])))
    where = {(round(p[2][0], 4), round(p[2][1], 4)): p for p in points}  # one mark per place: the incident's
    return trip_map.draw(routes, [(lat, lon) for _, lat, lon, _ in track], list(where.values()), off_route_m)
