"""Messages from jinja2 templates: one file per template name and locale, one block per step.

A template file `templates/<locale>/<name>.j2` defines the blocks `title` (push title) and
the steps it serves (`open`, `update`, `close`, `survey`). An unknown locale falls back to
English; a region suffix is dropped (`ru-RU` uses `ru`). `missing_templates` is for the
rule loader: a rule naming a template that does not exist is refused at load time.

Besides the caller's context, every block sees `step` and `channel`: `"sms"` for a text
message (the only channel a passenger can reply to), `"push"` for everything shown in the app
(push, and the webhook the platform relays), so only SMS asks for replies; push offers its
choices as action buttons (`fcm.CHECKIN_CHOICES`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
DEFAULT_LOCALE = "en"
STEPS = ("open", "update", "close", "survey")
TEXT_CHANNELS = ("sms", "push")  # the texts a template writes: SMS, and in-app (push, webhook)
SPACES = re.compile(r"\s+")


class TemplateError(LookupError):
    """A template or one of its steps is missing."""


@dataclass(frozen=True)
class Rendered:
    locale: str
    title: str
    body: str


class Templates:
    """Loads and renders message templates; the directory is a rule author's to edit."""

    def __init__(self, directory: Path = TEMPLATE_DIR) -> None:
        self.directory = directory
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(directory)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            auto_reload=True,
        )

    def locales(self) -> list[str]:
        return sorted(p.name for p in self.directory.iterdir() if p.is_dir())

    def names(self, locale: str = DEFAULT_LOCALE) -> list[str]:
        return sorted(p.stem for p in (self.directory / locale).glob("*.j2"))

    def locale_for(self, requested: str | None) -> str:
        """`ru-RU` -> `ru`; anything without templates -> English."""
        language = (requested or DEFAULT_LOCALE).replace("_", "-").split("-")[0].lower()
        return language if (self.directory / language).is_dir() else DEFAULT_LOCALE

    def render(
        self, name: str, step: str, locale: str | None, context: dict[str, Any], channel: str = "sms"
    ) -> Rendered:
        chosen = self.locale_for(locale)
        template = self._template(name, chosen)
        if step not in template.blocks:
            if chosen == DEFAULT_LOCALE:
                raise TemplateError(f"template {name!r} has no {step!r} block")
            return self.render(name, step, DEFAULT_LOCALE, context, channel)
        context = {**context, "step": step, "channel": text_channel(channel)}
        title = self._block(template, "title", context) if "title" in template.blocks else ""
        return Rendered(chosen, title, self._block(template, step, context))

    def has_step(self, name: str, step: str) -> bool:
        try:
            return step in self._template(name, DEFAULT_LOCALE).blocks
        except TemplateError:
            return False

    def _template(self, name: str, locale: str) -> jinja2.Template:
        try:
            return self.env.get_template(f"{locale}/{name}.j2")
        except jinja2.TemplateNotFound:
            if locale != DEFAULT_LOCALE:
                return self._template(name, DEFAULT_LOCALE)
            raise TemplateError(f"no message template {name!r} in {self.directory}") from None

    @staticmethod
    def _block(template: jinja2.Template, block: str, context: dict[str, Any]) -> str:
        text = "".join(template.blocks[block](template.new_context(context)))
        return SPACES.sub(" ", text).strip()


def text_channel(channel: str) -> str:
    """Which text a delivery channel gets: "sms", or "push" for anything shown in the app."""
    return "sms" if channel == "sms" else "push"


def missing_templates(
    templates: Templates, names: list[str], steps: tuple[str, ...] = ("open",)
) -> list[str]:
    """Problems for the rule loader: each template name that is missing, or lacks a step."""
    problems = []
    for name in names:
        for step in steps:
            if not templates.has_step(name, step):
                problems.append(f"message template {name!r}: no {step!r} step in {DEFAULT_LOCALE}/{name}.j2")
    return problems
