"""Supervisors' actions: the pure transitions, and the store applying them with annotation and audit."""

from __future__ import annotations

import orjson
import pytest
import redis.asyncio as aioredis

from core import names
from core.incident_store import IncidentStore
from core.incidents import IncidentChange, incident_id_for, transition
from core.supervision import ActionRefused, SupervisorAction, supervise


def opened(order_id: str = "o-1"):
    change = IncidentChange(action="open", kind="sos", order_id=order_id, severity="critical", summary="SOS")
    return transition(None, change, 1_000)


def action(name: str, text: str = "", incident_id: str = "o-1:sos") -> SupervisorAction:
    return SupervisorAction(action=name, incident_id=incident_id, actor="ana", role="supervisor", text=text)


def test_acknowledge_bumps_revision_once():
    acked = supervise(opened(), action("acknowledge"), 2_000)
    assert acked.status == "acknowledged" and acked.revision == 2 and acked.updated_at == 2_000
    assert supervise(acked, action("acknowledge"), 3_000) is None


def test_resolve_needs_a_reason_and_reopen_restarts_the_deadline():
    with pytest.raises(ActionRefused):
        supervise(opened(), action("resolve", "  "), 2_000)
    resolved = supervise(opened(), action("resolve", "passenger is safe"), 2_000)
    assert resolved.status == "resolved" and resolved.resolution == "ana: passenger is safe"
    with pytest.raises(ActionRefused):
        supervise(resolved, action("acknowledge"), 3_000)
    reopened = supervise(resolved, action("reopen"), 5_000)
    assert reopened.status == "open" and reopened.resolved_at is None and reopened.detected_at == 5_000
    with pytest.raises(ActionRefused):
        supervise(reopened, action("reopen"), 6_000)


def test_take_and_note_keep_the_status_but_bump_the_revision():
    taken = supervise(opened(), action("take"), 2_000)
    assert taken.status == "open" and taken.revision == 2
    noted = supervise(taken, action("note", "called the driver"), 3_000)
    assert noted.status == "open" and noted.revision == 3
    with pytest.raises(ActionRefused):
        supervise(noted, action("note", ""), 4_000)


@pytest.fixture
async def store(settings):
    redis = aioredis.from_url(settings.redis_dsn)
    yield IncidentStore(redis), redis
    await redis.aclose()


async def test_store_act_annotates_audits_and_publishes(store, order_id):
    incidents, redis = store
    await incidents.apply(
        IncidentChange(action="open", kind="sos", order_id=order_id, severity="critical"), 1_000
    )
    incident_id = incident_id_for(order_id, "sos")
    pubsub = redis.pubsub()
    await pubsub.subscribe(names.INCIDENT_CHANGES)
    await pubsub.get_message(timeout=1.0)  # the subscription confirmation

    acked = await incidents.act(action("acknowledge", incident_id=incident_id), 2_000)
    await incidents.act(action("take", incident_id=incident_id), 3_000)

    assert acked.status == "acknowledged"
    assert (await incidents.get(incident_id)).revision == 3
    [annotation] = await incidents.board_annotations([incident_id])
    assert (
        annotation["acked_by"] == "ana" and annotation["acked_at"] == "2000" and annotation["owner"] == "ana"
    )
    audit = [orjson.loads(raw) for raw in await redis.lrange(names.audit_order_key(order_id), 0, -1)]
    assert [(a["action"], a["actor"], a["at"]) for a in audit] == [
        ("acknowledge", "ana", 2000),
        ("take", "ana", 3000),
    ]
    published = []
    while len(published) < 2:
        message = await pubsub.get_message(timeout=2.0, ignore_subscribe_messages=True)
        assert message is not None, "an action must be published to every board"
        published.append(orjson.loads(message["data"]))
    assert [(p["incident_id"], p["revision"]) for p in published] == [(incident_id, 2), (incident_id, 3)]
    await pubsub.aclose()


async def test_store_act_on_unknown_incident(store):
    incidents, _ = store
    with pytest.raises(KeyError):
        await incidents.act(action("acknowledge", incident_id="nope:sos"), 1)


async def test_worker_change_after_acknowledge_keeps_the_acknowledgement(store, order_id):
    """A detector's update to an acknowledged incident must not undo the supervisor's work, except
    that turning critical is a new situation that needs its own acknowledgement (issue 16)."""
    incidents, _ = store
    change = IncidentChange(action="open", kind="sos", order_id=order_id, severity="medium", summary="first")
    await incidents.apply(change, 1_000)
    await incidents.act(action("acknowledge", incident_id=incident_id_for(order_id, "sos")), 2_000)
    worse = IncidentChange(action="open", kind="sos", order_id=order_id, severity="high", summary="worse")
    updated = await incidents.apply(worse, 3_000)
    assert updated.status == "acknowledged" and updated.revision == 3 and updated.severity == "high"
    worst = IncidentChange(action="open", kind="sos", order_id=order_id, severity="critical", summary="worst")
    updated = await incidents.apply(worst, 4_000)
    assert updated.status == "open" and updated.severity == "critical" and updated.severity_since == 4_000
    again = await incidents.act(action("acknowledge", incident_id=incident_id_for(order_id, "sos")), 5_000)
    assert again is not None and again.status == "acknowledged"
