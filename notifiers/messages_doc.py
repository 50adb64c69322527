"""docs/messages.md: every passenger message on one page (`python -m notifiers.messages_doc`).

Every template, in every locale, at every step and for every way an incident can end, as SMS
and as push, rendered with the same sample trip. Cases of one step that read the same are
shown once, under all their names (a template that says the same however it ended shows one
closing text).
A test compares the file with this output, so the page cannot drift from the templates.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notifiers.drivers import TEMPLATES as DRIVER_TEMPLATES
from notifiers.render import TEXT_CHANNELS, Templates
from notifiers.sms import fit, segments
from notifiers.trip_facts import ENDING_WORDS, ENDINGS

DOC = Path(__file__).resolve().parent.parent / "docs" / "messages.md"
LOCALES = ("en", "ru", "zh")

# One sample trip per locale: the passenger, the current driver, the ETA, the amount.
SAMPLES: dict[str, dict[str, Any]] = {
    "en": {"name": "Anna", "driver": "Jonas", "plate": "B-TW 1234", "car": "Toyota Prius"},
    "ru": {"name": "Анна", "driver": "Иван", "plate": "А123ВС77", "car": "Kia Rio"},
    "zh": {"name": "李娜", "driver": "王伟", "plate": "京A·12345", "car": "比亚迪秦"},
}


@dataclass(frozen=True)
class Case:
    step: str
    label: str
    values: dict[str, Any] = field(default_factory=dict)
    templates: tuple[str, ...] = ()  # only these templates have this case; empty: every one


CASES: tuple[Case, ...] = (
    Case("open", "it opens"),
    Case("open", "it opens as critical", {"severity": "critical"}),
    Case("open", "the rule requests a refund (`notify.refund: true`)", {"refund": True}),
    Case("open", "the passenger asked for help, answering the stop check-in", {"asked_help": True}, ("long_stop",)),
    Case("update", "news: the current driver and ETA"),
    Case("update", "news: no current driver (the last one cancelled)", {"driver": "", "plate": "", "eta_min": None}),
    *(Case("close", f"{ENDING_WORDS[e]} (`{e}`)", {"ending": e}) for e in ENDINGS),
    Case("survey", "after the closing message"),
)  # fmt: skip


def sample_context(locale: str, **values: Any) -> dict[str, Any]:
    """The template variables of the sample trip in `locale`, with `values` changed."""
    context: dict[str, Any] = {
        **SAMPLES[locale],
        "eta_min": 7,
        "amount": "12.50 EUR",
        "severity": "medium",
        "kind": "any",
        "resolution": "",
        "ending": "",
        "refund": False,
        "asked_help": False,
    }
    return {**context, **values}


def cases_of(templates: Templates, name: str) -> Iterator[Case]:
    for case in CASES:
        if templates.has_step(name, case.step) and (not case.templates or name in case.templates):
            yield case


def texts(templates: Templates, name: str, case: Case) -> dict[tuple[str, str], tuple[str, str]]:
    """(locale, "sms"/"push") -> (title, body), the SMS body fitted as the engine fits it."""
    found = {}
    for locale in LOCALES:
        context = sample_context(locale, **case.values)
        if name in DRIVER_TEMPLATES:  # the driver reads these: `name` is the driver's
            context["name"] = context["driver"]
        for channel in TEXT_CHANNELS:
            rendered = templates.render(name, case.step, locale, context, channel=channel)
            body = fit(rendered.body) if channel == "sms" else rendered.body
            found[(locale, channel)] = (rendered.title, body)
    return found


def render(templates: Templates | None = None) -> str:
    templates = templates or Templates()
    parts = [INTRO]
    for name in templates.names():
        parts.append(f"## `{name}`\n")
        groups: list[tuple[str, list[str], dict]] = []  # (step, case labels, texts), in order
        for case in cases_of(templates, name):
            found = texts(templates, name, case)
            same = next((g for g in groups if g[0] == case.step and g[2] == found), None)
            if same is None:
                groups.append((case.step, [case.label], found))
            else:
                same[1].append(case.label)
        steps = [step for step, _, _ in groups]
        parts += [
            _case(step, labels if steps.count(step) > 1 else [], found) for step, labels, found in groups
        ]
    return "\n".join(parts)


def _case(step: str, labels: list[str], found: dict[tuple[str, str], tuple[str, str]]) -> str:
    lines = [f"**{step}** when {'; '.join(labels)}:" if labels else f"**{step}**:", ""]
    for locale in LOCALES:
        (_, sms), (push_title, push) = found[(locale, "sms")], found[(locale, "push")]
        if sms == push:
            lines.append(f"- {locale}, SMS and push ({segments(sms)} SMS): **{push_title}** · {sms}")
        else:
            lines.append(f"- {locale}, SMS ({segments(sms)}): {sms}")
            lines.append(f"- {locale}, push: **{push_title}** · {push}")
    return "\n".join(lines) + "\n"


INTRO = """# What the passenger reads

Every message template (`notifiers/templates/<locale>/<name>.j2`), in every locale, at every step
and for every way an incident can end, as SMS and as push (**title** · body), rendered for one
sample trip (driver Jonas, B-TW 1234, 7 min away, 12.50 EUR). A case is listed only where its
text differs from the first case of its step. How outreach picks the step and the ending, and
where the facts come from: docs/outreach.md ("What the passenger reads"). Generated by
`python -m notifiers.messages_doc` (a test keeps it in step with the templates).

`driver_checkin` and `driver_no_show` are what the **driver** reads (by push only; `name` is the
driver's first name, here Jonas): see docs/outreach.md ("Driver outreach").
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DOC, help="where to write (default: docs/messages.md)")
    args = parser.parse_args(argv)
    args.output.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
