"""The trip view: the order's whole timeline, its map, the people and the case."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import msgspec
import orjson
import redis.asyncio as aioredis
from aiohttp import web

from dashboard import outreach, trip_map
from dashboard.access import Session
from dashboard.keys import REDIS, session_of
from dashboard.rows import masked
from monitor import names
from monitor.trip_log import read_events, read_track

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
    return {
        "session": session,
        "order_id": order_id,
        "timeline": timeline(
            events if session.can_see_phones else masked(events), incidents, actions, messages
        ),
        "current": _latest_per_incident(incidents),
        "passenger": await _passenger(redis, events, session),
        "driver": _driver(events, session),
        "map": _map(events, track),
        "case": await outreach.case_for_order(redis, order_id),
    }


def timeline(
    events: list[dict[str, Any]],
    incidents: list[dict[str, Any]],
    actions: list[dict[str, Any]],
    messages: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Everything that happened to the order, oldest first, each with a short text."""
    entries = [{"at": e.get("ts", 0), "what": "event", "text": _event_text(e)} for e in events]
    entries += [
        {"at": i.get("updated_at") or i.get("detected_at", 0), "what": "incident",
         "text": f"{i['kind']} {i['severity']} {i['status']} (rev {i['revision']}): {i.get('summary', '')}"}
        for i in incidents
    ]  # fmt: skip
    entries += [
        {
            "at": a["at"],
            "what": "action",
            "text": f"{a['actor']} ({a['role']}): {a['action']} {a.get('text', '')}",
        }
        for a in actions
    ]
    entries += [
        {"at": m.get("at", 0), "what": "message",
         "text": f"{m.get('channel', '')} {m.get('status', '')}: {m.get('body', '')}"}
        for m in messages
    ]  # fmt: skip
    return sorted(entries, key=lambda e: e["at"])


def _event_text(event: dict[str, Any]) -> str:
    kind = event.get("type", "?")
    extra = {k: v for k, v in event.items() if k not in ("type", "event_id", "order_id", "ts", "route")}
    return f"{kind} {orjson.dumps(extra).decode()}" if extra else kind


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


def _map(events: list[dict[str, Any]], track: list[tuple[int, float, float, float]]) -> trip_map.TripMap:
    routes = [[tuple(p) for p in e["route"]] for e in events if e.get("route")]
    marks = {}
    created = next((e for e in events if e.get("type") == "order.created"), None)
    if created:
        marks = {
            "pickup": (created["pickup"]["lat"], created["pickup"]["lon"]),
            "drop-off": (created["dropoff"]["lat"], created["dropoff"]["lon"]),
        }
    return trip_map.draw(routes, [(lat, lon) for _, lat, lon, _ in track], marks)
