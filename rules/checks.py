"""The lint's warnings placed in the set: per condition (`rules.lint`) and over the whole set.

Set-wide: macros and lists no rule uses, and a notifying rule whose message template is
missing in some locale (its passengers there get the generic message). Templates are
looked up by path (`rules.templates.TEMPLATE_ROOT`), never by importing the notifiers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rules.conditions import Condition, Environment
from rules.expression import ParseFailed, parse
from rules.lint import Warning_, lint_condition
from rules.positions import key_node, node_at, start
from rules.problems import Problems
from rules.templates import TEMPLATE_ROOT, locales_missing


def warnings_of(text: str, env: Environment) -> list[Warning_]:
    try:
        tree = parse(text)
    except (ParseFailed, RecursionError):
        return []
    return lint_condition(text, tree, env.lists, env.cities)


def set_warnings(
    parsed: list[Any], loaded: list[Any], env: Environment, problems: Problems, check_locales: bool
) -> None:
    used = _used(loaded, env)
    for file in parsed:
        for section in ("lists", "macros"):
            for name in getattr(file.content, section):
                if name not in used:
                    node = key_node(node_at(file.root, (section,)), name) or file.root
                    word = "list" if section == "lists" else "macro"
                    problems.warn(
                        file.name, start(node), (section, name), f"{word} {name!r} is used by no rule"
                    )
    if check_locales:
        _templates(parsed, problems, TEMPLATE_ROOT)


def _used(loaded: list[Any], env: Environment) -> set[str]:
    pending: list[Condition] = []
    for rule in loaded:
        pending.extend(c for c in (rule.when, *(c for _, c in (*rule.escalations, *rule.exceptions))) if c)
    used: set[str] = set()
    while pending:
        condition = pending.pop()
        used.update(condition.lists)
        for name in condition.macros:
            if name not in used and name in env.macros:
                used.add(name)
                pending.append(env.macros[name])
    return used


def _templates(parsed: list[Any], problems: Problems, root: Path) -> None:
    for file in parsed:
        for index, rule in file.rules:
            notify = rule.actions.notify
            if notify is None or not rule.enabled:
                continue
            name = notify.template or rule.kind
            for locale in locales_missing(name, root):
                path = ("rules", index, "actions", "notify")
                problems.warn(
                    file.name,
                    start(node_at(file.root, path)),
                    path,
                    f"no message template {name!r} in locale {locale!r} ({locale}/{name}.j2): "
                    "passengers there get the generic message",
                )
