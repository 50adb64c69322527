"""The trip view in words: each event, incident change, action and message as a sentence, and the
case as a person would say it. Times are parts of their own ({"ms", "utc"}); the browser shows
them in the supervisor's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.money import money

Part = str | dict[str, Any]
KIND_LABELS = {
    "pickup_delay": "Pickup delay", "trip_delay": "Trip delay", "driver_cancellation": "Driver cancelled",
    "system_cancellation": "Cancelled by the system", "route_deviation": "Off route",
    "payment_failure": "Payment failed", "double_charge": "Charged twice", "sos": "SOS",
    "crash_suspected": "Crash suspected", "long_stop": "Long stop", "signal_lost": "Signal lost",
    "early_end": "Trip ended early",
}  # fmt: skip
VERBS = {"acknowledge": "acknowledged", "take": "took", "note": "noted", "resolve": "resolved",
         "reopen": "reopened", "silence": "silenced", "unsilence": "ended the silence"}  # fmt: skip


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def at(ms: int | None) -> dict[str, Any]:
    """A moment: the browser rewrites `utc` into the supervisor's own zone."""
    moment = datetime.fromtimestamp((ms or 0) / 1000, UTC)
    return {"ms": ms or 0, "utc": f"{moment.day} {moment:%b %H:%M:%S} UTC"}


def event_parts(event: dict[str, Any]) -> list[Part]:
    kind = str(event.get("type", "?"))
    words = _EVENTS.get(kind)
    return words(event) if words else [kind.replace(".", " ").replace("_", " ").capitalize()]


def _driver_assigned(e: dict[str, Any]) -> list[Part]:
    driver = e.get("driver") or {}
    plate = f" ({driver['plate']})" if driver.get("plate") else ""
    return [f"Driver {driver.get('name') or driver.get('id', '?')}{plate} assigned, ETA at the pickup ",
            at(e.get("eta_pickup_ts"))]  # fmt: skip


def _money(value: Any) -> str:
    if isinstance(value, dict) and "amount_minor" in value:
        return money(int(value["amount_minor"]), str(value.get("currency", "")))
    return ""


def _payment(e: dict[str, Any]) -> list[Part]:
    what = str(e.get("type", "payment.")).split(".", 1)[1]
    amount = _money(e)
    code = f" (code {e['code']})" if e.get("code") else ""
    return [f"Payment {what}{': ' + amount if amount else ''}{code}"]


def _safety(e: dict[str, Any]) -> list[Part]:
    what = {
        "sos.pressed": "SOS pressed",
        "crash.detected": "Crash detected",
        "safety.reported": "Safety report",
    }
    note = f": {e['note']}" if e.get("note") else ""
    return [f"{what.get(str(e.get('type')), 'Safety signal')} by the {e.get('source', 'passenger')}{note}"]


def _cancelled(e: dict[str, Any]) -> list[Part]:
    reason = f": {e['reason']}" if e.get("reason") else ""
    return [f"Order cancelled by the {e.get('cancelled_by', '?')}{reason}"]


def _completed(e: dict[str, Any]) -> list[Part]:
    fare = _money(e.get("fare"))
    return [f"Trip completed{', fare ' + fare if fare else ''}"]


def _rerouted(e: dict[str, Any]) -> list[Part]:
    return [
        "Route changed",
        *([", ETA at the drop-off ", at(e["eta_dropoff_ts"])] if e.get("eta_dropoff_ts") else []),
    ]


_EVENTS = {
    "order.created": lambda e: [f"Order created{' in ' + e['city'] if e.get('city') else ''}; pickup promised for ",
                                at(e.get("promised_pickup_ts"))],
    "driver.assigned": _driver_assigned,
    "driver.eta_updated": lambda e: ["Driver's ETA at the pickup now ", at(e.get("eta_pickup_ts"))],
    "driver.arrived": lambda e: ["Driver arrived at the pickup"],
    "trip.started": lambda e: ["Trip started, ETA at the drop-off ", at(e.get("eta_dropoff_ts"))],
    "trip.eta_updated": lambda e: ["ETA at the drop-off now ", at(e.get("eta_dropoff_ts"))],
    "trip.rerouted": _rerouted,
    "trip.completed": _completed,
    "order.cancelled": _cancelled,
    **{f"payment.{p}": _payment for p in ("authorized", "captured", "failed", "refunded")},
    **{s: _safety for s in ("sos.pressed", "crash.detected", "safety.reported")},
}  # fmt: skip


def incident_parts(incident: dict[str, Any], before: dict[str, Any] | None) -> list[Part]:
    """One incident change in words, told against the revision before it."""
    label, summary = kind_label(str(incident["kind"])), incident.get("summary") or ""
    tail = f" — {summary}" if summary else ""
    if incident["status"] == "resolved":
        return [f"{label} resolved{': ' + incident['resolution'] if incident.get('resolution') else ''}"]
    if before is None or before.get("status") == "resolved":
        return [f"{label} opened ({incident['severity']}){tail}"]
    if incident["severity"] != before.get("severity"):
        return [f"{label} escalated to {incident['severity']}{tail}"]
    if incident["status"] != before.get("status"):
        return [f"{label} {incident['status']}"]
    return [f"{label} updated{tail}"]


def action_parts(action: dict[str, Any]) -> list[Part]:
    if action.get("action") == "assign":
        return [
            f"{action.get('actor', '?')} ({action.get('role', '?')}) assigned it to {action.get('text', '?')}"
        ]
    verb = VERBS.get(str(action.get("action")), str(action.get("action", "")).replace(".", " "))
    text = f": {action['text']}" if action.get("text") else ""
    return [f"{action.get('actor', '?')} ({action.get('role', '?')}) {verb}{text}"]


def message_parts(message: dict[str, Any]) -> list[Part]:
    who = (
        "Page to on-call"
        if message.get("step") == "page"
        else f"{str(message.get('channel', '')).upper()} to the passenger"
    )
    body = f": “{message['body']}”" if message.get("body") else ""
    error = f" ({message['error']})" if message.get("error") else ""
    return [f"{who} {message.get('status', '')}{error}{body}"]


def case_lines(case: dict[str, Any], messages: list[dict[str, Any]]) -> list[list[Part]]:
    """The case in sentences: state, who acknowledged, the SLA, pages, messages."""
    lines: list[list[Part]] = [[f"Case {case.get('state', '?')} ({case.get('severity', '?')}), opened ",
                                at(case.get("opened_at"))]]  # fmt: skip
    if case.get("acknowledged_at"):
        lines.append(
            [f"Acknowledged by {case.get('acknowledged_by') or 'outreach'} at ", at(case["acknowledged_at"])]
        )
    else:
        lines.append(["Not acknowledged yet"])
    if case.get("state") in ("open", "acknowledged"):
        lines.append(["SLA due ", {**at(case.get("sla_due_at")), "countdown": True}])
    lines.append(_pages(case))
    if case.get("passenger_ok_at"):
        lines.append(["The passenger said they are OK at ", at(case["passenger_ok_at"])])
    if case.get("no_contact"):
        lines.append(["The passenger has no channel we can reach"])
    lines.append([_messages(messages)])
    for field, words in (("resolved_at", "Resolved "), ("closed_at", "Closed ")):
        if case.get(field):
            lines.append([words, at(case[field])])
    if case.get("survey_score") is not None:
        lines.append([f"Survey: {case['survey_score']} of 5"])
    return lines


def _pages(case: dict[str, Any]) -> list[Part]:
    pages = case.get("pages") or {}
    if not case.get("paged_at") and not pages:
        return ["Nobody paged" + (", a page is due at " if case.get("page_due_at") else "")] + (
            [at(case["page_due_at"])] if case.get("page_due_at") else []
        )
    targets = ", ".join(sorted(set(pages.values()))) or "on-call"
    state = "acknowledged" if case.get("pages_acknowledged") else "not acknowledged"
    reminders = f", {case['reminders']} reminder(s)" if case.get("reminders") else ""
    return [f"Paged {targets} ({len(pages)} page(s), {state}{reminders}) at ", at(case.get("paged_at"))]


def _messages(messages: list[dict[str, Any]]) -> str:
    if not messages:
        return "No messages sent"
    counts: dict[str, int] = {}
    for message in messages:
        counts[str(message.get("status", "?"))] = counts.get(str(message.get("status", "?")), 0) + 1
    return f"{len(messages)} message(s): " + ", ".join(
        f"{n} {status}" for status, n in sorted(counts.items())
    )
