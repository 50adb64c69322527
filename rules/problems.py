"""Problems found in a rule set, in plain words: `file:line:col: path.to.key: what is wrong`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from rules import model
from rules.positions import node_at, start
from rules.suggest import closest

_TYPE_WORDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "string": "text",
    "list": "a list",
    "dict": "a mapping (key: value lines)",
    "model": "a mapping (key: value lines)",
}
_RANGE_WORDS = {
    "greater_than_equal": ("at least", "ge"),
    "greater_than": ("more than", "gt"),
    "less_than_equal": ("at most", "le"),
    "less_than": ("less than", "lt"),
}
# (field names along the path, without list indexes) -> the model there
_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): model.RuleFile,
    ("rules",): model.Rule,
    ("rules", "actions"): model.Actions,
    ("rules", "actions", "notify"): model.Notify,
    ("rules", "actions", "page"): model.Page,
    ("rules", "escalate"): model.Escalation,
    ("rules", "exceptions"): model.RuleException,
    ("overrides",): model.RuleOverride,
    ("overrides", "append"): model.Appended,
    ("overrides", "replace"): model.Replaced,
    ("overrides", "append", "exceptions"): model.RuleException,
    ("overrides", "replace", "exceptions"): model.RuleException,
    ("overrides", "append", "escalate"): model.Escalation,
    ("overrides", "replace", "escalate"): model.Escalation,
    ("overrides", "replace", "actions"): model.Actions,
}


class Problems:
    """Collects the problems of one load; the set is refused when there is any."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.warnings: list[str] = []  # do not refuse the set (unless checked with --strict)

    def warn(self, file: str, position: tuple[int, int], path: tuple[Any, ...], message: str) -> None:
        dotted = ".".join(str(part) for part in path) or "(file)"
        self.warnings.append(f"{file}:{position[0]}:{position[1]}: {dotted}: warning: {message}")

    def add(self, file: str, position: tuple[int, int], path: tuple[Any, ...], message: str) -> None:
        dotted = ".".join(str(part) for part in path) or "(file)"
        self.lines.append(f"{file}:{position[0]}:{position[1]}: {dotted}: {message}")

    def at_node(self, file: str, node: yaml.Node, path: tuple[Any, ...], message: str) -> None:
        self.add(file, start(node), path, message)

    def from_validation(
        self,
        file: str,
        root: yaml.Node,
        error: ValidationError,
        prefix: tuple[Any, ...] = (),
        params_model: type[BaseModel] | None = None,
        models: dict[tuple[str, ...], type[BaseModel]] | None = None,  # default: the rule file's
    ) -> None:
        for item in error.errors():
            loc = prefix + tuple(item["loc"])
            unknown = item["type"] == "extra_forbidden"
            node = node_at(root, loc, want_key=unknown)
            in_params = "params" in loc[2:4]
            owner = params_model if in_params and params_model else _model_at(loc[:-1], models or _MODELS)
            self.at_node(file, node, loc, describe(item, loc, owner))


def describe(item: Mapping[str, Any], loc: tuple[Any, ...], owner: type[BaseModel] | None) -> str:
    kind, given = item["type"], item.get("input")
    if kind == "extra_forbidden":
        names = list(owner.model_fields) if owner else []
        return f"unknown field {loc[-1]!r}{closest(str(loc[-1]), names)}"
    if kind == "missing":
        return "required field is missing"
    if kind in _RANGE_WORDS:
        words, key = _RANGE_WORDS[kind]
        return f"out of range: must be {words} {item['ctx'][key]:g} (got {given!r})"
    if kind == "literal_error":
        return _not_one_of(loc, given, item)
    if kind == "string_type" and isinstance(given, bool):
        word = str(given).lower()
        return f"wrong type: expected text, got {word} (a condition is text: write '{word}' in quotes)"
    if kind.endswith(("_type", "_parsing")):
        wanted = _TYPE_WORDS.get(kind.split("_")[0], kind.split("_")[0])
        return f"wrong type: expected {wanted}, got {given!r}"
    if kind == "string_pattern_mismatch":
        return f"{given!r} is not allowed here: it must match {item['ctx']['pattern']}"
    if kind == "value_error":
        return str(item["msg"]).removeprefix("Value error, ")
    if kind == "too_short":
        return "must not be empty"
    return f"{item['msg']} (got {given!r})"


def _not_one_of(loc: tuple[Any, ...], given: Any, item: Mapping[str, Any]) -> str:
    what = "channel" if "channels" in loc else str(next(p for p in reversed(loc) if isinstance(p, str)))
    allowed = item["ctx"]["expected"]
    choices = [part.strip(" '") for part in allowed.replace(" or ", ",").split(",") if part.strip(" '")]
    return f"unknown {what} {given!r}{closest(str(given), choices)}; expected {allowed}"


def _model_at(loc: tuple[Any, ...], models: dict[tuple[str, ...], type[BaseModel]]) -> type[BaseModel] | None:
    return models.get(tuple(part for part in loc if isinstance(part, str)))
