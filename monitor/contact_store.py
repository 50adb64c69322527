"""Support contacts in Redis: each one recorded once, matched to an incident, noted on its case.

Idempotent under at-least-once delivery: the contact's record (`tw:contact:<event_id>`) and its
match, the incident's contact index and the case's note are written in one transaction that
watches the record, so a contact read again (a redelivery, a replayed partition) finds itself
matched and changes nothing. A contact that matched nothing waits in `contacts:unmatched` and
is tried again (`retry_unmatched`) while its incident may still be detected (`LATE_MS`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import WatchError

from core import names
from core.models import SupportContact
from monitor.contacts import LATE_MS, LOOKBACK_MS, Candidate, Match, match_contact
from notifiers.cases import case_key, queue_case
from notifiers.model import Case, TimelineEntry, decode_case, decode_message
from notifiers.outbox import add_timeline, message_key, queue_export
from notifiers.reads import PASSENGER_STEPS

log = logging.getLogger(__name__)

RETENTION_S = 7 * 24 * 3600  # a contact's record and index entries are kept this long


class ContactRecord(msgspec.Struct, kw_only=True):
    contact: SupportContact
    recorded_at: int
    match: dict[str, Any] | None = None  # monitor.contacts.Match as a dict


def contact_key(event_id: str) -> str:
    return names.CONTACT + event_id


def decode_record(raw: bytes) -> ContactRecord:
    return msgspec.json.decode(raw, type=ContactRecord)


class ContactStore:
    def __init__(self, redis: aioredis.Redis, helpdesk_url: str = "") -> None:
        self.redis = redis
        self.helpdesk_url = helpdesk_url

    async def candidates(self, contact: SupportContact) -> list[Candidate]:
        """The passenger's incidents around the contact (and the named order's), with our first
        delivered passenger message about each."""
        ids = await self._incident_ids(contact)
        if not ids:
            return []
        raws = await self.redis.mget([names.incident_key(i) for i in ids])
        incidents = [msgspec.json.decode(raw) for raw in raws if raw]
        return [await self._candidate(incident) for incident in incidents]

    async def _incident_ids(self, contact: SupportContact) -> list[str]:
        key = names.INCIDENTS_BY_PASSENGER + contact.passenger_id
        low, high = contact.ts - LOOKBACK_MS, contact.ts + LATE_MS
        ids = {raw.decode() for raw in await self.redis.zrangebyscore(key, low, high)}
        if contact.order_id is not None:  # an order's incidents may lack the passenger (no order.created)
            history = await self.redis.lrange(names.incident_history_key(contact.order_id), 0, -1)
            ids |= {msgspec.json.decode(raw)["incident_id"] for raw in history}
        return sorted(ids)

    async def _candidate(self, incident: dict[str, Any]) -> Candidate:
        details = incident.get("details") or {}
        first_at, channel = await self.first_message_about(incident["order_id"], about(incident))
        return Candidate(
            incident_id=incident["incident_id"],
            kind=incident["kind"],
            order_id=incident["order_id"],
            status=incident["status"],
            opened_at=int(incident.get("opened_at") or incident["detected_at"]),
            first_message_at=first_at,
            first_message_channel=channel,
            raised_by=details.get("contact_event_id"),
        )

    async def first_message_about(
        self, order_id: str, incident_ids: list[str]
    ) -> tuple[int | None, str | None]:
        """Our earliest delivered passenger message about any of these incidents of the order, and
        on which channel."""
        prefixes = tuple(incident_id + ":" for incident_id in incident_ids)
        ids = [raw.decode() for raw in await self.redis.zrange(names.OUTBOX_BY_ORDER + order_id, 0, -1)]
        mine = [i for i in ids if i.startswith(prefixes) and i.rsplit(":", 1)[-1] in PASSENGER_STEPS]
        if not mine:
            return None, None
        scores = await self.redis.zmscore(names.OUTBOX_SENT, mine)
        sent = [(int(score), i) for score, i in zip(scores, mine, strict=True) if score is not None]
        if not sent:
            return None, None
        at, message_id = min(sent)
        raw = await self.redis.get(message_key(message_id))
        return at, decode_message(raw).channel if raw else None

    async def first_message(self, order_id: str, incident_id: str) -> tuple[int | None, str | None]:
        """When our first passenger message about the incident was delivered, and on which channel."""
        return await self.first_message_about(order_id, [incident_id])

    async def record(self, contact: SupportContact, now_ms: int) -> Match | None:
        """Match and record the contact (once); returns its match, None while it has none."""
        match = match_contact(contact, await self.candidates(contact))
        return await self.write(contact, match, now_ms)

    async def recorded_match(self, event_id: str) -> Match | None:
        """The match the contact was recorded with, None if it has none (yet)."""
        raw = await self.redis.get(contact_key(event_id))
        return _as_match(decode_record(raw).match) if raw else None

    async def write(self, contact: SupportContact, match: Match | None, now_ms: int) -> Match | None:
        """Record the contact with `match`, unless it was recorded matched already (then that)."""
        key = contact_key(contact.event_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    watched = [key] + ([case_key(match.incident_id)] if match else [])
                    await pipe.watch(*watched)
                    raw = await pipe.get(key)
                    before = decode_record(raw) if raw else None
                    if before is not None and (before.match is not None or match is None):
                        await pipe.unwatch()
                        return _as_match(before.match)
                    case = await self._case(pipe, match)
                    pipe.multi()
                    self._queue(pipe, contact, match, before, case, now_ms)
                    await pipe.execute()
                    return match
                except WatchError:
                    continue

    async def _case(self, pipe: aioredis.client.Pipeline, match: Match | None) -> Case | None:
        if match is None:
            return None
        raw = await pipe.get(case_key(match.incident_id))  # a case's id is its incident's
        return decode_case(raw) if raw else None

    def _queue(
        self,
        pipe: aioredis.client.Pipeline,
        contact: SupportContact,
        match: Match | None,
        before: ContactRecord | None,
        case: Case | None,
        now_ms: int,
    ) -> None:
        event_id = contact.event_id
        recorded_at = before.recorded_at if before else now_ms
        record = ContactRecord(
            contact=contact, recorded_at=recorded_at, match=dataclasses.asdict(match) if match else None
        )
        pipe.set(contact_key(event_id), msgspec.json.encode(record), ex=RETENTION_S)
        pipe.zadd(names.CONTACTS_ALL, {event_id: contact.ts})
        if match is None:
            pipe.zadd(names.CONTACTS_UNMATCHED, {event_id: contact.ts})
            return
        pipe.zrem(names.CONTACTS_UNMATCHED, event_id)
        by_incident = names.INCIDENT_CONTACTS + match.incident_id
        pipe.zadd(by_incident, {event_id: contact.ts})
        pipe.expire(by_incident, RETENTION_S)
        if case is not None:
            self._note_on_case(pipe, case, contact, match, now_ms)

    def _note_on_case(
        self, pipe: aioredis.client.Pipeline, case: Case, contact: SupportContact, match: Match, now_ms: int
    ) -> None:
        case = msgspec.structs.replace(case, version=case.version + 1)
        case.support_contacts += 1
        if case.first_contact_at is None or contact.ts < case.first_contact_at:
            case.first_contact_at = contact.ts
            case.told_first = match.told_first
            case.contact_lead_s = None if match.lead_ms is None else round(match.lead_ms / 1000, 1)
        data = {"event_id": contact.event_id, "channel": contact.channel, "topic": contact.topic,
                "case_ref": contact.case_ref, "told_first": match.told_first, "lead_ms": match.lead_ms,
                "by": match.by}  # fmt: skip
        entry = TimelineEntry(at=contact.ts, what="contact", text=match.reason, data=data)
        queue_case(pipe, case)
        add_timeline(pipe, case.case_id, entry)
        queue_export(pipe, case, [entry], self.helpdesk_url)

    async def retry_unmatched(self, now_ms: int, limit: int = 200) -> int:
        """Match again the contacts still without an incident that detection may yet raise;
        returns how many matched now."""
        raw_ids = await self.redis.zrangebyscore(
            names.CONTACTS_UNMATCHED, now_ms - LATE_MS, "+inf", start=0, num=limit
        )
        matched = 0
        for raw in await self.redis.mget([contact_key(i.decode()) for i in raw_ids]) if raw_ids else []:
            if raw:
                matched += await self.record(decode_record(raw).contact, now_ms) is not None
        return matched

    async def records_since(self, since_ms: int) -> list[ContactRecord]:
        """Every contact recorded with a contact time from `since_ms` on."""
        ids = await self.redis.zrangebyscore(names.CONTACTS_ALL, since_ms, "+inf")
        records: list[ContactRecord] = []
        for start in range(0, len(ids), 500):
            keys = [contact_key(i.decode()) for i in ids[start : start + 500]]
            records += [decode_record(raw) for raw in await self.redis.mget(keys) if raw]
        return records


def about(incident: dict[str, Any]) -> list[str]:
    """The incident and those it follows on from (`details.follows`: a check-in on the same stop
    before a long stop), whose messages were our word about it too."""
    follows = (incident.get("details") or {}).get("follows") or []
    return [incident["incident_id"], *(i for i in follows if isinstance(i, str))]


def _as_match(stored: dict[str, Any] | None) -> Match | None:
    return Match(**stored) if stored else None
