"""A local stand-in for the phone network, for `tripwatch up --demo` (no network here).

It speaks the same wire formats as the real providers (Twilio's Messages API, FCM HTTP v1),
so outreach runs unchanged against it, and shows what passengers would have received on a
small inbox page. It keeps messages in memory and is never used unless `--demo` starts it.
"""

from __future__ import annotations

import email.utils
import itertools
import time
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

SANDBOX_SID = "ACsandbox"
SANDBOX_PROJECT = "tripwatch-sandbox"
SANDBOX_TOKEN = "sandbox-token"
SANDBOX_FROM = "+15550000000"

INBOX = web.AppKey("inbox", list)
COUNTER = web.AppKey("counter", itertools.count)

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">
<title>Tripwatch demo: passengers' phones</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:50rem}
li{margin:.6rem 0;padding:.6rem .8rem;border:1px solid #dde;border-radius:8px;list-style:none}
small{color:#667}</style></head><body>
<h1>What passengers received ({{ inbox|length }})</h1>
<p><small>The demo has no phone network: Tripwatch's outreach delivers, in the real providers'
formats, to this local stand-in.</small></p>
<ul>{% for m in inbox|reverse %}<li><small>{{ m.channel }} to {{ m.to }} at {{ m.at }}</small>
{% if m.title %}<br><b>{{ m.title }}</b>{% endif %}<br>{{ m.body }}</li>{% endfor %}</ul>
</body></html>"""


def sandbox_app() -> web.Application:
    app = web.Application()
    app[INBOX] = []
    app[COUNTER] = itertools.count(1)
    aiohttp_jinja2.setup(app, loader=jinja2.DictLoader({"inbox.html": PAGE}), autoescape=True)
    app.add_routes(
        [
            web.get("/", inbox_page),
            web.post("/2010-04-01/Accounts/{sid}/Messages.json", twilio_send),
            web.get("/2010-04-01/Accounts/{sid}/Messages.json", twilio_list),
            web.post("/v1/projects/{project}/messages:send", fcm_send),
        ]
    )
    return app


@aiohttp_jinja2.template("inbox.html")
async def inbox_page(request: web.Request) -> dict[str, Any]:
    return {"inbox": request.app[INBOX]}


async def twilio_send(request: web.Request) -> web.Response:
    form = await request.post()
    number = next(request.app[COUNTER])
    item = {
        "sid": f"SM{number:032d}", "channel": "sms", "to": form.get("To"), "from": form.get("From"),
        "body": form.get("Body"), "title": None, "at": time.strftime("%H:%M:%S"),
        "date_created": email.utils.formatdate(usegmt=True), "status": "queued",
    }  # fmt: skip
    request.app[INBOX].append(item)
    return web.json_response(item, status=201)


async def twilio_list(request: web.Request) -> web.Response:
    to = request.query.get("To")
    messages = [m for m in request.app[INBOX] if m["channel"] == "sms" and m["to"] == to]
    return web.json_response({"messages": messages})


async def fcm_send(request: web.Request) -> web.Response:
    message = (await request.json())["message"]
    number = next(request.app[COUNTER])
    notification = message.get("notification", {})
    request.app[INBOX].append(
        {
            "channel": "push",
            "to": message.get("token"),
            "title": notification.get("title"),
            "body": notification.get("body"),
            "at": time.strftime("%H:%M:%S"),
        }  # fmt: skip
    )
    return web.json_response({"name": f"projects/{request.match_info['project']}/messages/{number}"})


def sandbox_settings(base_url: str) -> dict[str, str]:
    """The outreach settings that point both providers at the sandbox."""
    return {
        "twilio_base_url": base_url,
        "twilio_account_sid": SANDBOX_SID,
        "twilio_auth_token": SANDBOX_TOKEN,
        "twilio_from": SANDBOX_FROM,
        "fcm_base_url": base_url,
        "fcm_project": SANDBOX_PROJECT,
        "fcm_access_token": SANDBOX_TOKEN,
    }


def run_sandbox(host: str, port: int) -> None:
    web.run_app(sandbox_app(), host=host, port=port, print=None)
