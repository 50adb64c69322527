"""Load a rule directory: every file validated together, accepted or refused as a whole.

Errors read `file:line:col: path.to.key: what is wrong`, the position taken from the
YAML node the problem belongs to.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from rules.model import Rule, RuleFile
from rules.params import DETECTOR_PARAMS


class RuleError(ValueError):
    """One or more problems in a rule set; `problems` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class LoadedRule:
    rule: Rule
    params: BaseModel
    source: str  # file:line of the rule

    @property
    def id(self) -> str:
        return self.rule.id


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[LoadedRule, ...]
    version: str  # digest of all rule versions: equal sets have equal versions

    def for_detector(self, detector: str) -> list[LoadedRule]:
        return [r for r in self.rules if r.rule.enabled and r.rule.detector == detector]


def load_rule_dir(directory: Path) -> RuleSet:
    if not directory.is_dir():
        raise RuleError([f"{directory}: not a directory of rule files"])
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    problems: list[str] = []
    loaded: list[LoadedRule] = []
    for path in files:
        loaded.extend(_load_file(path, problems))
    _check_duplicates(loaded, problems)
    if problems:
        raise RuleError(problems)
    digest = hashlib.sha256("".join(r.rule.version for r in loaded).encode()).hexdigest()[:10]
    return RuleSet(tuple(loaded), digest)


def _load_file(path: Path, problems: list[str]) -> list[LoadedRule]:
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problems.append(f"{where}: not valid YAML: {error.problem}")
        return []
    if root is None:
        return []
    try:
        rule_file = RuleFile.model_validate(data)
    except ValidationError as error:
        problems.extend(_describe(path, root, error))
        return []
    loaded = []
    for index, rule in enumerate(rule_file.rules):
        params = _validate_params(path, root, index, rule, problems)
        if params is not None:
            line = _node_at(root, ("rules", index)).start_mark.line + 1
            loaded.append(LoadedRule(rule, params, f"{path}:{line}"))
    return loaded


def _validate_params(
    path: Path, root: yaml.Node, index: int, rule: Rule, problems: list[str]
) -> BaseModel | None:
    model = DETECTOR_PARAMS.get(rule.detector)
    if model is None:
        node = _node_at(root, ("rules", index, "detector"))
        problems.append(
            f"{_where(path, node)}: rules.{index}.detector: unknown detector "
            f"{rule.detector!r}{_closest(rule.detector, DETECTOR_PARAMS)}"
        )
        return None
    try:
        return model.model_validate(rule.params)
    except ValidationError as error:
        problems.extend(_describe(path, root, error, prefix=("rules", index, "params")))
        return None


def _check_duplicates(loaded: list[LoadedRule], problems: list[str]) -> None:
    seen: dict[str, str] = {}
    for item in loaded:
        if item.id in seen:
            problems.append(f"{item.source}: id: duplicate rule id {item.id!r}, first at {seen[item.id]}")
        seen.setdefault(item.id, item.source)


def _describe(path: Path, root: yaml.Node, error: ValidationError, prefix: tuple[Any, ...] = ()) -> list[str]:
    lines = []
    for item in error.errors():
        loc = prefix + tuple(item["loc"])
        node = _node_at(root, loc, want_key=item["type"] == "extra_forbidden")
        dotted = ".".join(str(part) for part in loc)
        lines.append(f"{_where(path, node)}: {dotted}: {_message(item, loc, root)}")
    return lines


def _message(item: dict[str, Any], loc: tuple[Any, ...], root: yaml.Node) -> str:
    if item["type"] == "extra_forbidden":
        parent = _node_at(root, loc[:-1])
        return f"unknown field {loc[-1]!r}{_closest(str(loc[-1]), _allowed_keys(parent, loc))}"
    return f"{item['msg']} (got {item.get('input')!r})" if "input" in item else item["msg"]


def _allowed_keys(_parent: yaml.Node, loc: tuple[Any, ...]) -> list[str]:
    if len(loc) == 1:
        return list(RuleFile.model_fields)
    if len(loc) == 3 and loc[0] == "rules":
        return list(Rule.model_fields)
    return [name for model in DETECTOR_PARAMS.values() for name in model.model_fields]


def _closest(word: str, choices: Any) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _node_at(root: yaml.Node, loc: tuple[Any, ...], want_key: bool = False) -> yaml.Node:
    """The deepest YAML node along `loc`; with `want_key`, the last key itself."""
    node = root
    for depth, part in enumerate(loc):
        last = depth == len(loc) - 1
        child = _child(node, part, want_key and last)
        if child is None:
            return node
        node = child
    return node


def _child(node: yaml.Node, part: Any, want_key: bool) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return key if want_key else value
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None


def _where(path: Path, node: yaml.Node) -> str:
    mark = node.start_mark
    return f"{path}:{mark.line + 1}:{mark.column + 1}"
