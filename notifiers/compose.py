"""One outbound message's texts: rendered from the trip as it stands, once per kind of channel.

A message is planned for several channels (the passenger's fallback order), and SMS and
in-app texts differ: only SMS can be replied to, so only the SMS text asks for a reply (see
`render.text_channel`). `body` is the SMS text when SMS is in the plan (what Twilio sends and
looks up), else the in-app one; `bodies` holds the text for each planned channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.models import Passenger
from notifiers.facts import context
from notifiers.model import IncidentView
from notifiers.render import Templates, text_channel
from notifiers.sms import fit
from notifiers.trip_facts import TripFacts


@dataclass(frozen=True)
class Composed:
    title: str
    body: str
    bodies: dict[str, str] = field(default_factory=dict)  # channel -> its text


def compose(
    templates: Templates,
    template: str,
    step: str,
    incident: IncidentView,
    passenger: Passenger,
    channels: list[str],
    now_ms: int,
    trip: TripFacts | None = None,
    refund: bool = False,
) -> Composed:
    """The message's title and texts; an SMS text is fitted to its segment limit."""
    facts = context(incident, passenger, now_ms, trip, refund)
    texts: dict[str, tuple[str, str]] = {}  # "sms" / "push" -> (title, body)
    for kind in dict.fromkeys(text_channel(c) for c in channels):
        rendered = templates.render(template, step, passenger.locale, facts, channel=kind)
        texts[kind] = (rendered.title, fit(rendered.body) if kind == "sms" else rendered.body)
    bodies = {channel: texts[text_channel(channel)][1] for channel in channels}
    first = "sms" if "sms" in texts else next(iter(texts))
    title = texts.get("push", texts[first])[0]
    return Composed(title=title, body=texts[first][1], bodies=bodies)
