"""The incident store's optimistic write: a change made by someone else in between is not
overwritten; the write is computed again from what is stored now."""

from __future__ import annotations

import msgspec
import redis.asyncio as aioredis

from core import names
from core.incident_store import IncidentStore
from core.incidents import Incident, IncidentChange, decode_incident, encode_incident


async def test_a_write_in_between_is_seen_and_the_change_computed_again(redis_settings, order_id):
    redis = aioredis.from_url(redis_settings.redis_dsn)
    other = aioredis.from_url(redis_settings.redis_dsn)
    store = IncidentStore(redis)
    change = IncidentChange(action="open", kind="sos", order_id=order_id, severity="critical", trigger_ts=1)
    seen: list[Incident] = []

    async def meanwhile(incident: Incident) -> None:  # a supervisor writes between read and commit
        seen.append(incident)
        if len(seen) == 1:
            taken = msgspec.structs.replace(incident, status="acknowledged", summary="taken by ana")
            await other.set(names.incident_key(incident.incident_id), encode_incident(taken))

    try:
        await store.apply(change, 1_000, before_commit=meanwhile)
        stored = decode_incident(await redis.get(names.incident_key(f"{order_id}:sos")))
        assert len(seen) == 2  # computed again, from the supervisor's write
        assert (seen[1].status, seen[1].revision) == ("acknowledged", 2)
        assert stored == seen[1]
    finally:
        await redis.aclose()
        await other.aclose()
