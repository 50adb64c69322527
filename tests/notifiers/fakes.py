"""Local HTTP servers that speak the providers' wire formats (Twilio, FCM v1, PagerDuty, webhook).

They check what the real services check (path, method, auth, body shape), answer with the
real services' success and error bodies, and count what they accepted. Knobs: `fail`
(statuses to answer next, per channel), `down` (always 503), `delay_s` (answer sends slowly,
per channel; the message is accepted when the request arrives, as a provider that is slow to
reply does; Twilio's message list still answers at once). Twilio's list takes `To` and
`DateSent>=` (a day) like the real one; `status_callbacks` keeps each SMS's `StatusCallback`.
Push has two counts, as in life: `push`, every request FCM accepted, and `shown`, what each
device's tray shows (a notification with a tag already shown replaces it; `ios_tokens` are
iPhones, which use `apns-collapse-id` for that, the rest Android, which uses the tag).
Google's OAuth2 token endpoint (`/token`) takes a service account's signed JWT (RS256, checked
against `service_account_keys`) and issues access tokens good for `token_lifetime_s`; FCM then
accepts the fixed `FCM_TOKEN` or any issued token until it expires. `retry_after` adds a
`Retry-After` header to the 429s `fail` asks for; a number in `blocked` said STOP (Twilio 21610).
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import itertools
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from core.ports import free_port
from notifiers import webhook

SID = "AC" + "0" * 32
TOKEN = "twilio-test-token"
FCM_PROJECT = "tripwatch-test"
FCM_TOKEN = "ya29.test-access-token"
WEBHOOK_SECRET = "webhook-test-secret"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # the JWT's audience, whatever token_uri says
ROUTING_KEYS = ("a" * 32, "b" * 32, "c" * 32)


@dataclass
class Providers:
    sms: list[dict[str, str]] = field(default_factory=list)
    push: list[dict[str, Any]] = field(default_factory=list)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)
    fail: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    down: set[str] = field(default_factory=set)
    delay_s: dict[str, float] = field(default_factory=dict)
    unregistered: set[str] = field(default_factory=set)
    # The devices behind the push tokens: token -> {tag: notification} as the tray shows it.
    shown: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    ios_tokens: set[str] = field(default_factory=set)  # the rest are Android devices
    push_at: list[float] = field(default_factory=list)  # wall-clock arrival (s) of each `push`
    status_callbacks: dict[str, str] = field(default_factory=dict)  # SMS sid -> its StatusCallback URL
    list_queries: list[dict[str, str]] = field(default_factory=list)  # Twilio list queries, as asked
    blocked: set[str] = field(default_factory=set)  # numbers that replied STOP: Twilio refuses them
    retry_after: dict[str, str] = field(default_factory=dict)  # channel -> Retry-After of its 429s
    service_account_keys: dict[str, rsa.RSAPublicKey] = field(default_factory=dict)  # client_email -> key
    token_lifetime_s: int = 3600
    token_requests: list[dict[str, Any]] = field(default_factory=list)  # the JWT claims of each
    issued: dict[str, float] = field(default_factory=dict)  # access token -> expiry (wall clock s)
    push_auth: list[str] = field(default_factory=list)  # the bearer token of each accepted push
    port: int = 0
    ids: itertools.count = field(default_factory=itertools.count)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        for seen in (self.sms, self.push, self.hooks, self.pages):
            seen.clear()
        self.fail.clear()
        self.down.clear()
        self.delay_s.clear()
        self.unregistered.clear()
        self.shown.clear()
        self.ios_tokens.clear()
        self.push_at.clear()
        self.status_callbacks.clear()
        self.list_queries.clear()
        self.blocked.clear()
        self.retry_after.clear()
        self.service_account_keys.clear()
        self.token_lifetime_s = 3600
        self.token_requests.clear()
        self.issued.clear()
        self.push_auth.clear()

    def shown_on(self, token: str) -> list[dict[str, Any]]:
        """The notifications the device with `token` shows, one per tag."""
        return list(self.shown.get(token, {}).values())

    def _show(self, message: dict[str, Any]) -> None:
        """The device posts the notification; one with a tag it already shows replaces it
        (Android: `android.notification.tag`; iOS: the `apns-collapse-id` header)."""
        token = message["token"]
        if token in self.ios_tokens:
            tag = message.get("apns", {}).get("headers", {}).get("apns-collapse-id")
        else:
            tag = message.get("android", {}).get("notification", {}).get("tag")
        self.shown.setdefault(token, {})[tag or f"untagged-{next(self.ids)}"] = message

    async def _outage(self, channel: str) -> web.Response | None:
        if channel in self.down:
            return _json({"message": "Service Unavailable"}, 503)
        if self.fail[channel]:
            status = self.fail[channel].pop(0)
            response = _json({"code": 20500, "message": "Internal Server Error", "status": status}, status)
            if status == 429 and channel in self.retry_after:
                response.headers["Retry-After"] = self.retry_after[channel]
            return response
        return None

    async def _slow(self, channel: str) -> None:
        if self.delay_s.get(channel):
            await asyncio.sleep(self.delay_s[channel])

    # --- Twilio ------------------------------------------------------------------------
    async def twilio_send(self, request: web.Request) -> web.Response:
        if request.match_info["sid"] != SID or not _basic_auth_ok(request, SID, TOKEN):
            return _json({"code": 20003, "message": "Authenticate", "status": 401}, 401)
        outage = await self._outage("sms")
        if outage is not None:
            return outage
        form = await request.post()
        to, body = str(form.get("To", "")), str(form.get("Body", ""))
        if not to.startswith("+") or not to[1:].isdigit():
            message = f"The 'To' number {to} is not a valid phone number."
            return _json({"code": 21211, "message": message, "status": 400}, 400)
        if to in self.blocked:
            message = "Attempt to send to unsubscribed recipient"
            return _json({"code": 21610, "message": message, "status": 400}, 400)
        sid = f"SM{next(self.ids):032d}"
        created = email.utils.formatdate(usegmt=True)
        record = {
            "sid": sid,
            "to": to,
            "from": str(form.get("From")),
            "body": body,
            "status": "queued",
            "date_created": created,
            "date_sent": created,
            "validity_period": str(form.get("ValidityPeriod", "")),
        }
        if form.get("StatusCallback"):
            self.status_callbacks[sid] = str(form["StatusCallback"])
        self.sms.append(record)  # taken at once: a slow answer does not undo it
        await self._slow("sms")
        return _json({**record, "account_sid": SID}, 201)

    async def twilio_list(self, request: web.Request) -> web.Response:
        if not _basic_auth_ok(request, SID, TOKEN):
            return _json({"code": 20003, "message": "Authenticate", "status": 401}, 401)
        to, since = request.query.get("To"), request.query.get("DateSent>")  # `DateSent>=YYYY-MM-DD`
        self.list_queries.append(dict(request.query))
        found = [
            {**m, "account_sid": SID, "direction": "outbound-api", "num_segments": "1"}
            for m in reversed(self.sms)
            if (to is None or m["to"] == to) and (since is None or _day(m["date_sent"]) >= since)
        ]
        page_size = int(request.query.get("PageSize", 50))
        return _json({"messages": found[:page_size], "page": 0, "page_size": page_size}, 200)

    # --- FCM HTTP v1 ---------------------------------------------------------------------
    async def fcm_send(self, request: web.Request) -> web.Response:
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer != FCM_TOKEN and self.issued.get(bearer, 0) <= time.time():
            return _fcm_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        if request.match_info["project"] != FCM_PROJECT:
            return _fcm_error(404, "NOT_FOUND", "Requested entity was not found.")
        outage = await self._outage("push")
        if outage is not None:
            return outage
        message = (await request.json()).get("message", {})
        if not message.get("token") or "notification" not in message:
            return _fcm_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        if message["token"] in self.unregistered:
            return _fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        self.push.append(message)  # FCM counts every request it accepted
        self.push_auth.append(bearer)
        self.push_at.append(time.time())
        self._show(message)
        await self._slow("push")
        return _json({"name": f"projects/{FCM_PROJECT}/messages/0:{next(self.ids)}"}, 200)

    # --- Google OAuth2 token endpoint (service-account JWT bearer grant) ---------------------
    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return _json({"error": "unsupported_grant_type"}, 400)
        claims = self._verified_claims(str(form.get("assertion", "")), str(request.url))
        if claims is None:
            return _json({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400)
        self.token_requests.append(claims)
        access = f"ya29.issued-{next(self.ids)}"
        self.issued[access] = time.time() + self.token_lifetime_s
        return _json(
            {"access_token": access, "expires_in": self.token_lifetime_s, "token_type": "Bearer"}, 200
        )

    def _verified_claims(self, assertion: str, url: str) -> dict[str, Any] | None:
        """The JWT's claims when signed by a known key, for this endpoint, with FCM's scope."""
        try:
            header, claims, signature = (_b64(part) for part in assertion.split("."))
            claims_json = json.loads(claims)
            key = self.service_account_keys[claims_json["iss"]]
            signed = assertion.rsplit(".", 1)[0].encode()
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, KeyError, InvalidSignature):
            return None
        fresh = claims_json.get("exp", 0) > time.time() >= claims_json.get("iat", 0) - 60
        scoped = "firebase.messaging" in claims_json.get("scope", "")
        if (
            json.loads(header).get("alg") != "RS256"
            or claims_json.get("aud") not in (url, GOOGLE_TOKEN_URI)
            or not (fresh and scoped)
        ):
            return None
        return claims_json

    # --- PagerDuty Events v2 -------------------------------------------------------------
    async def pagerduty(self, request: web.Request) -> web.Response:
        event = await request.json()
        if len(event.get("routing_key", "")) != 32 or event.get("event_action") not in (
            "trigger",
            "acknowledge",
            "resolve",
        ):
            return _json(
                {"status": "invalid event", "message": "Event object is invalid", "errors": ["routing_key"]},
                400,
            )
        outage = await self._outage("pagerduty")
        if outage is not None:
            return outage
        self.pages.append(event)
        await self._slow("pagerduty")
        return _json(
            {"status": "success", "message": "Event processed", "dedup_key": event["dedup_key"]}, 202
        )

    # --- signed webhook ---------------------------------------------------------------------
    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = request.headers
        ok = webhook.verify(
            WEBHOOK_SECRET,
            headers.get("X-Tripwatch-Timestamp", ""),
            body,
            headers.get("X-Tripwatch-Signature", ""),
        )
        if not ok:
            return _json({"error": "bad signature"}, 401)
        outage = await self._outage("webhook")
        if outage is not None:
            return outage
        self.hooks.append({"delivery": headers["X-Tripwatch-Delivery"], **orjson.loads(body)})
        return _json({"id": headers["X-Tripwatch-Delivery"]}, 200)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self.twilio_send)
        app.router.add_get("/2010-04-01/Accounts/{sid}/Messages.json", self.twilio_list)
        app.router.add_post("/v1/projects/{project}/messages:send", self.fcm_send)
        app.router.add_post("/v2/enqueue", self.pagerduty)
        app.router.add_post("/token", self.token)
        app.router.add_post("/hooks/{name}", self.hook)
        return app


async def start(providers: Providers) -> web.AppRunner:
    runner = web.AppRunner(providers.app())
    await runner.setup()
    providers.port = free_port()
    await web.TCPSite(runner, "127.0.0.1", providers.port).start()
    return runner


def _json(body: dict[str, Any], status: int) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _fcm_error(code: int, status: str, message: str, error_code: str | None = None) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if error_code:
        error["details"] = [
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code}
        ]
    return _json({"error": error}, code)


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _day(rfc2822: str) -> str:
    return email.utils.parsedate_to_datetime(rfc2822).strftime("%Y-%m-%d")


def _basic_auth_ok(request: web.Request, user: str, password: str) -> bool:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return request.headers.get("Authorization") == expected
