"""Replies from passengers, as Twilio posts them (form-encoded, `X-Twilio-Signature`).

The signature is Twilio's: base64(HMAC-SHA1(auth token, full URL + each POST parameter's
name and value, sorted by name)). An open case reads digits as check-in choices (1 I'm OK,
2 help, 3 report a problem, 4 share my trip); a resolved one as the survey score (1-5).
"I'm OK" is noted on the case and lowers nothing: only a person who acknowledges stands the
escalation down. Twilio's delivery receipts (`StatusCallback`, signed the same way) arrive on
`STATUS_PATH` and are recorded on the message's case (delivered / undelivered / failed).
STOP / START (and Twilio's other spellings, `keywords.py`) switch SMS off and on for the number;
HELP answers a pending check-in ("get help"), else Twilio answers it. A reply is handled once
per `MessageSid`: Twilio redelivers a webhook it thinks failed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

import msgspec
import orjson
from aiohttp import web

from core import names
from core.replies import as_text
from core.settings import Settings
from notifiers import cases, keywords, webhook
from notifiers.engine import Outreach, escalate_case
from notifiers.model import TimelineEntry
from notifiers.outbox import Outbox, add_timeline, queue_delivery_export
from notifiers.twilio import STATUS_PATH

log = logging.getLogger(__name__)

INBOUND_PATH = "/twilio/sms"
APP_CHECKIN_PATH = "/app/checkin"
OUTREACH_KEY = web.AppKey("outreach", Outreach)
SETTINGS_KEY = web.AppKey("settings", Settings)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
CHOICES = {
    "ok": ("1", "ok", "ок", "i'm ok", "im ok", "я в порядке", "всё хорошо", "我没事", "没事"),
    "help": ("2", "help", "sos", "помощь", "помогите", "帮助", "救命"),
    "report": ("3", "report", "проблема", "报告问题"),
    "share": ("4", "share", "поделиться", "分享行程"),
}


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def choice_of(text: str) -> str | None:
    said = " ".join(text.lower().split()).strip(".!")
    return next((choice for choice, words in CHOICES.items() if said in words), None)


def create_app(settings: Settings, outreach: Outreach) -> web.Application:
    app = web.Application()
    app[SETTINGS_KEY] = settings
    app[OUTREACH_KEY] = outreach
    app.router.add_post(INBOUND_PATH, receive_sms)
    app.router.add_post(APP_CHECKIN_PATH, receive_app_checkin)
    app.router.add_post(STATUS_PATH, receive_status)
    return app


async def receive_app_checkin(request: web.Request) -> web.Response:
    """A push action from the passenger app, relayed by its backend: JSON `{incident_id, choice}`,
    signed like our webhooks (HMAC-SHA256 over `<timestamp>.<body>` with `webhook_secret`)."""
    settings = request.app[SETTINGS_KEY]
    body = await request.read()
    headers = request.headers
    timestamp, signature = headers.get("X-Tripwatch-Timestamp", ""), headers.get("X-Tripwatch-Signature", "")
    secret = settings.webhook_secret.get_secret_value()
    if not secret or not webhook.verify(secret, timestamp, body, signature):
        raise web.HTTPForbidden(text="bad signature")
    try:
        reply = orjson.loads(body)
        incident_id, choice = str(reply["incident_id"]), str(reply["choice"])
    except (ValueError, KeyError, TypeError):
        raise web.HTTPBadRequest(text="expected JSON {incident_id, choice}") from None
    if choice not in CHOICES:
        raise web.HTTPBadRequest(text=f"choice must be one of {', '.join(CHOICES)}")
    taken = await apply_choice(request.app[OUTREACH_KEY], incident_id, choice, f"app action {choice!r}")
    return web.json_response({"taken_as": taken})


async def signed_form(request: web.Request, path: str) -> dict[str, str]:
    """The POSTed form, once its `X-Twilio-Signature` is checked (else 403)."""
    settings = request.app[SETTINGS_KEY]
    params = {name: str(value) for name, value in (await request.post()).items()}
    public = settings.outreach_public_url
    url = public.rstrip("/") + path if public else str(request.url)
    expected = twilio_signature(settings.twilio_auth_token.get_secret_value(), url, params)
    if not hmac.compare_digest(expected, request.headers.get("X-Twilio-Signature", "")):
        log.warning("inbound Twilio request on %s refused: bad X-Twilio-Signature", path)
        raise web.HTTPForbidden(text="bad signature")
    return params


async def receive_status(request: web.Request) -> web.Response:
    """A Twilio delivery receipt (`MessageSid`, `MessageStatus`, `ErrorCode`)."""
    params = await signed_form(request, STATUS_PATH)
    await record_receipt(
        request.app[OUTREACH_KEY],
        params.get("MessageSid", ""),
        params.get("MessageStatus", ""),
        params.get("ErrorCode", ""),
    )
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


FINAL_RECEIPTS = ("delivered", "undelivered", "failed")


async def record_receipt(outreach: Outreach, sid: str, status: str, error_code: str = "") -> str:
    """Record a final receipt on the message and its case, once per status; returns what it did."""
    redis = outreach.redis
    message_id = await redis.get(names.OUTBOX_BY_PROVIDER_ID + sid)
    if status not in FINAL_RECEIPTS or message_id is None:
        return "ignored"  # queued/sent/sending are on the way; an unknown SID is not ours
    outbox = Outbox(redis, 0)
    message = await outbox.get(as_text(message_id))
    if message is None or message.receipt == status:
        return "ignored"  # Twilio may post a receipt again
    message.receipt = status
    now = outreach.clock()
    error = f" (Twilio error {error_code})" if error_code else ""
    text = f"{message.step} message {status} to the phone{error}"
    data = {"message_id": message.message_id, "sid": sid, "status": status}
    if error_code:
        data["error_code"] = error_code
    entry = TimelineEntry(at=now, what="receipt", text=text, data=data)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(names.OUTBOX_MESSAGE + message.message_id, msgspec.json.encode(message))
        add_timeline(pipe, message.case_id, entry)
        queue_delivery_export(
            pipe, message, entry, outreach.settings.helpdesk_webhook_url, f"receipt-{status}"
        )
        await pipe.execute()
    return status


SEEN_TTL_S = 2 * 86_400  # Twilio retries a webhook for far less than this


async def receive_sms(request: web.Request) -> web.Response:
    """One reply, once: a webhook Twilio delivers again (same `MessageSid`) changes nothing."""
    params = await signed_form(request, INBOUND_PATH)
    outreach = request.app[OUTREACH_KEY]
    sid = params.get("MessageSid", "")
    if sid and not await outreach.redis.set(names.INBOUND_SEEN + sid, 1, nx=True, ex=SEEN_TTL_S):
        log.info("reply %s already handled; the redelivery changes nothing", sid)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")
    try:
        await handle_inbound(outreach, params.get("From", ""), params.get("Body", ""))
    except Exception:
        if sid:  # not handled: let Twilio's retry apply it
            await outreach.redis.delete(names.INBOUND_SEEN + sid)
        raise
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


async def handle_inbound(outreach: Outreach, phone: str, text: str) -> str:
    """STOP / START first (they change where we may write), then HELP with nothing awaiting an
    answer; anything else is a reply to the case that awaits one (HELP to a check-in escalates)."""
    word = keywords.keyword_of(text)
    now = outreach.clock()
    if word == "stop":
        if await keywords.opt_out(outreach.redis, phone, now):
            await _note_for_phone(outreach, phone, f"passenger replied {text.strip()!r}: no more SMS to them")
        return "opted_out"
    if word == "start":
        if await keywords.opt_in(outreach.redis, phone):
            await _note_for_phone(outreach, phone, f"passenger replied {text.strip()!r}: SMS allowed again")
        return "opted_in"
    if word == "help" and await outreach.redis.get(names.CHECKIN + phone) is None:
        log.info("HELP from a number with no check-in awaiting a reply; Twilio answers it")
        return "help"
    return await handle_reply(outreach, phone, text)


async def _note_for_phone(outreach: Outreach, phone: str, text: str) -> None:
    """On the case whose replies this number is answering, if any."""
    incident_id = await outreach.redis.get(names.CHECKIN + phone)
    if incident_id is not None:
        await _note(outreach, as_text(incident_id), outreach.clock(), text)


async def handle_reply(outreach: Outreach, phone: str, text: str) -> str:
    """Apply one reply to the case it answers; returns what it was taken as."""
    redis = outreach.redis
    incident_id = await redis.get(names.CHECKIN + phone)
    if incident_id is None:
        log.info("reply from a number with nothing awaiting a reply; ignored")
        return "ignored"
    case_id = as_text(incident_id)
    store = cases.CaseStore(redis, outreach.settings)
    case = await store.get(case_id)
    if case is None:
        return "ignored"
    now = outreach.clock()
    if case.state in ("resolved", "closed") and case.survey_requested:
        return await _survey(store, case_id, text, now)
    return await apply_choice(outreach, case_id, choice_of(text), f"SMS {text.strip()!r}")


async def apply_choice(outreach: Outreach, case_id: str, choice: str | None, said: str) -> str:
    """I'm OK is noted on the case and lowers nothing (escalation goes on until a person
    acknowledges); help escalates now; report and share are noted for a person."""
    now = outreach.clock()
    store = cases.CaseStore(outreach.redis, outreach.settings)
    if await store.get(case_id) is None:
        return "ignored"
    await _note(outreach, case_id, now, f"passenger replied {said}: {choice or 'not understood'}")
    if choice == "ok":
        case = await store.note_passenger_ok(case_id, said, now)
        if case is not None and case.escalation_level < 0 and case.page_due_at is not None:
            # the check-in is answered, so its timeout no longer pages early; the rule's own page stays due
            await outreach.redis.zadd(names.ESCALATIONS_DUE, {case_id: case.page_due_at})
    elif choice == "help":
        await escalate_case(outreach, case_id, now, "passenger asked for emergency help", asked_for_help=True)
    return choice or "unknown"


async def _survey(store: cases.CaseStore, case_id: str, text: str, now: int) -> str:
    score = text.strip()
    if score in {"1", "2", "3", "4", "5"}:
        await store.record_survey(case_id, int(score), now)
        return "survey"
    return "unknown"


async def _note(outreach: Outreach, case_id: str, now: int, text: str) -> None:
    async with outreach.redis.pipeline(transaction=True) as pipe:
        add_timeline(pipe, case_id, TimelineEntry(at=now, what="reply", text=text))
        await pipe.execute()
