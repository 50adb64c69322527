"""The helpdesk export: one signed webhook document per case change, and one per delivery result.

Queued in the caller's transaction, next to the case it describes, so a case never changes
without its export and a retried transaction never exports twice: the outbox message id
`case:<case_id>:v<version>` is the idempotency key (SET NX) and the receiver's delivery id.
Delivery results (sent, failed over, delivery unknown, dead letter, a provider's receipt)
are documents `{"type": "delivery", ...}` with the id `delivery:<message_id>:<n>`, n the
message's attempt count, so each result is exported once.
"""

from __future__ import annotations

import msgspec

from notifiers.model import Case, OutboundMessage, TimelineEntry

EXPORT_STEP = "export"


def export_id(case: Case) -> str:
    return f"case:{case.case_id}:v{case.version}"


def export_message(case: Case, entries: list[TimelineEntry], url: str) -> OutboundMessage:
    """The document `{"type": "case", "case": …, "new_entries": […]}` for the helpdesk at `url`."""
    payload = {
        "type": "case",
        "case": msgspec.to_builtins(case),
        "new_entries": [msgspec.to_builtins(entry) for entry in entries],
    }
    return OutboundMessage(
        message_id=export_id(case),
        incident_id=case.incident_id,
        order_id=case.order_id,
        case_id=None,  # its delivery is not itself a case change
        step=EXPORT_STEP,
        priority="normal",
        channels=["webhook"],
        recipients={"webhook": url},
        payload=payload,
        created_at=entries[0].at if entries else case.opened_at,
    )


def delivery_export(
    message: OutboundMessage, entry: TimelineEntry, url: str, tag: str = ""
) -> OutboundMessage | None:
    """The document exporting one delivery result of a case's message; exports themselves are not
    exported (None), nor is anything without a URL."""
    if not url or message.case_id is None:
        return None
    payload = {
        "type": "delivery",
        "case_id": message.case_id,
        "message_id": message.message_id,
        "step": message.step,
        "channel": message.channel,
        "status": message.status,
        "receipt": message.receipt,
        "entry": msgspec.to_builtins(entry),
    }
    export = OutboundMessage(
        message_id=f"delivery:{message.message_id}:{tag or len(message.history)}",
        incident_id=message.incident_id,
        order_id=message.order_id,
        case_id=None,
        step=EXPORT_STEP,
        priority="normal",
        channels=["webhook"],
        recipients={"webhook": url},
        payload=payload,
        created_at=entry.at,
    )
    return export
