"""Load a rule set: every file validated together, accepted or refused as a whole.

Errors read `file:line:col: path.to.key: what is wrong`, the position taken from the
YAML node the problem belongs to (inside a `when` expression: the spot in it).
Conditions are compiled here, once; the detectors and the processor only run them.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from core.incidents import BUILTIN_KINDS
from rules import limits
from rules.checks import set_warnings, warnings_of
from rules.conditions import (
    OBJECTS,
    Condition,
    ConditionError,
    Environment,
    check_by_trial,
    compile_condition,
    position_in,
)
from rules.context import valid_zone
from rules.files import in_subfolders, rule_paths, set_limits, too_large
from rules.model import Rule, RuleFile, RuleOverride
from rules.overrides import effective, overridden_parts
from rules.params import DETECTOR_PARAMS
from rules.positions import duplicate_keys, in_expression, key_node, node_at, start
from rules.problems import Problems
from rules.reading import read_yaml
from rules.suggest import closest
from rules.templates import available_templates


class RuleError(ValueError):
    """One or more problems in a rule set; `problems` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class LoadedRule:
    rule: Rule
    params: Any  # the detector's params model (see rules.params)
    source: str  # file:line of the rule
    when: Condition | None = None
    escalations: tuple[tuple[str, Condition], ...] = ()  # (severity, condition)
    exceptions: tuple[tuple[str, Condition], ...] = ()  # (name, condition)

    version: str = ""  # the rule's digest with the macros and lists it uses: stamped on incidents
    changed_by: tuple[str, ...] = ()  # file:line of each override applied to it (rules.overrides)
    timezones: Mapping[str, str] = field(default_factory=dict)  # the set's city -> zone (`timezones:`)

    @property
    def id(self) -> str:
        return self.rule.id


@dataclass(frozen=True, eq=False)
class RuleSet:
    rules: tuple[LoadedRule, ...]
    version: str  # digest of the whole set: equal sets have equal versions
    env: Environment = field(default_factory=Environment)
    timezones: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)  # file name -> text, as loaded
    warnings: tuple[str, ...] = ()  # `file:line:col: path: warning: ...`, see rules.lint
    # rule id -> conditions of it that failed at run time (taken as false), since this set loaded
    failures: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {r.id: r for r in self.rules})

    def condition_failed(self, rule_id: str, listener: Callable[[str], None] | None = None) -> None:
        self.failures[rule_id] += 1
        if listener is not None:
            listener(rule_id)

    def for_detector(self, detector: str) -> list[LoadedRule]:
        return [r for r in self.rules if r.rule.enabled and r.rule.detector == detector]

    def by_id(self, rule_id: str) -> LoadedRule | None:
        return self._by_id.get(rule_id)  # type: ignore[attr-defined, no-any-return]


@dataclass
class _File:
    name: str
    root: yaml.Node
    lines: list[str]
    content: RuleFile
    rules: list[tuple[int, Rule]]  # (index in the file, rule)


def load_rule_dir(directory: Path, templates: Iterable[str] | None = None) -> RuleSet:
    """Every `*.yaml`/`*.yml` file of `directory`, named by path in errors.

    Rule files in subfolders are refused (never silently skipped), and so is a file too
    large to read: both before any file is parsed."""
    if not directory.is_dir():
        raise RuleError([f"{directory}: not a directory of rule files"])
    paths = rule_paths(directory)
    refused = [*in_subfolders(directory), *too_large(paths)]
    if refused:
        raise RuleError(refused)
    return load_rules({str(path): path.read_text(encoding="utf-8") for path in paths}, templates)


def load_rules(
    files: Mapping[str, str], templates: Iterable[str] | None = None, budget_s: float = limits.MAX_CHECK_S
) -> RuleSet:
    """A rule set from file name -> text; raises `RuleError` listing every problem.

    Refused without parsing when over the limits of `rules.limits`, and stopped (refused)
    when the whole check takes longer than `budget_s`."""
    sizes = {name: len(text.encode()) for name, text in files.items()}
    refused = set_limits(len(files), sum(sizes.values()), "rule set")
    if refused:
        raise RuleError(refused)
    deadline = limits.Deadline(budget_s)
    try:
        return _load(files, sizes, templates, deadline)
    except limits.CheckTooSlow as error:
        raise RuleError([f"{deadline.where}: refused: {error}"]) from None


def _load(
    files: Mapping[str, str],
    sizes: dict[str, int],
    templates: Iterable[str] | None,
    deadline: limits.Deadline,
) -> RuleSet:
    problems = Problems()
    parsed = []
    for name, text in sorted(files.items()):
        deadline.at(name)
        if sizes[name] > limits.MAX_FILE_BYTES:
            problems.add(name, (1, 1), (), f"too large: {sizes[name]} bytes, at most {limits.MAX_FILE_BYTES}")
        elif (file := _parse(name, text, problems)) is not None:
            parsed.append(file)
    env, timezones, kinds = _shared(parsed, problems, deadline)
    known_templates = frozenset(templates) if templates is not None else available_templates()
    loaded = [
        replace(r, timezones=timezones)
        for r in _rules(parsed, env, kinds, known_templates, problems, deadline)
    ]
    if problems.lines:
        raise RuleError(problems.lines)
    set_warnings(parsed, loaded, env, problems, check_locales=templates is None)
    digest = _digest(loaded, env, timezones, kinds)
    return RuleSet(tuple(loaded), digest, env, timezones, dict(files), tuple(problems.warnings))


# --- one file ---------------------------------------------------------------------------


def _parse(name: str, text: str, problems: Problems) -> _File | None:
    try:
        root, data = read_yaml(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.add(name, where, (), f"not valid YAML: {error.problem}")
        return None
    if root is None or data in ({}, []):
        problems.warn(name, (1, 1), (), "empty file: no rules, lists, macros, kinds or time zones")
        return None
    for node, path, first in duplicate_keys(root):
        problems.at_node(name, node, path, f"duplicate key {node.value!r}, first at line {first}")
    if not isinstance(data, dict):
        problems.at_node(name, root, (), "wrong type: a rule file is a mapping with a `rules:` list")
        return None
    raw_rules = data.get("rules") or []
    try:
        content = RuleFile.model_validate({**data, "rules": []})
    except ValidationError as error:
        problems.from_validation(name, root, error)
        content = RuleFile()
    if not isinstance(raw_rules, list):
        problems.at_node(name, node_at(root, ("rules",)), ("rules",), "wrong type: expected a list of rules")
        raw_rules = []
    return _File(name, root, text.splitlines(), content, _validated_rules(name, root, raw_rules, problems))


def _validated_rules(
    name: str, root: yaml.Node, raw: list[Any], problems: Problems
) -> list[tuple[int, Rule]]:
    rules = []
    for index, item in enumerate(raw):
        try:
            rules.append((index, Rule.model_validate(item)))
        except ValidationError as error:
            problems.from_validation(name, root, error, prefix=("rules", index))
    return rules


# --- shared pieces: lists, macros, kinds, timezones -------------------------------------------


def _shared(
    parsed: list[_File], problems: Problems, deadline: limits.Deadline
) -> tuple[Environment, dict[str, str], set[str]]:
    env = Environment()
    timezones: dict[str, str] = {}
    kinds = set(BUILTIN_KINDS)
    macro_sources: dict[str, tuple[_File, str]] = {}
    for file in parsed:
        deadline.at(file.name)
        kinds.update(file.content.kinds)
        for city, zone in file.content.timezones.items():
            if not valid_zone(zone):
                node = node_at(file.root, ("timezones", city))
                problems.at_node(file.name, node, ("timezones", city), f"unknown time zone {zone!r}")
            timezones[city] = zone
        for section in ("lists", "macros", "zones"):
            for name, value in getattr(file.content, section).items():
                if _clashes(file, section, name, env, macro_sources, problems):
                    continue
                if section == "lists":
                    env.lists[name] = value
                elif section == "zones":
                    env.zones[name] = value
                else:
                    macro_sources[name] = (file, value)
    env.cities = frozenset(timezones)
    _compile_macros(macro_sources, env, problems, deadline)
    return env, timezones, kinds


def _clashes(
    file: _File, section: str, name: str, env: Environment, macros: dict[str, Any], problems: Problems
) -> bool:
    node = key_node(node_at(file.root, (section,)), name) or file.root
    if name in OBJECTS:
        problems.at_node(
            file.name, node, (section, name), f"{name!r} is a built-in object; choose another name"
        )
        return True
    if name in (env.zones if section == "zones" else {**env.lists, **macros}):
        problems.at_node(
            file.name, node, (section, name), f"{name!r} is defined twice (as a list, macro or zone)"
        )
        return True
    return False


def _compile_macros(
    sources: dict[str, tuple[_File, str]], env: Environment, problems: Problems, deadline: limits.Deadline
) -> None:
    pending = {name: text for name, (_, text) in sources.items()}
    for name, (file, text) in sources.items():
        deadline.at(file.name)
        path = ("macros", name)
        condition = _compile(file, path, text, env, problems, pending)
        if condition is not None:
            env.macros[name] = condition
    for name in _cyclic(env):
        file, _ = sources[name]
        problems.at_node(
            file.name,
            node_at(file.root, ("macros", name)),
            ("macros", name),
            f"macro {name!r} uses itself (through other macros)",
        )
        env.macros.pop(name, None)
    for name, (file, _) in sources.items():
        if name in env.macros and all(dep in env.macros for dep in env.macros[name].macros):
            _trial(file, ("macros", name), env.macros[name], env, problems)
        elif name in env.macros:
            env.macros.pop(name)  # uses a macro that did not compile: already reported


def _cyclic(env: Environment) -> list[str]:
    def reaches(start_name: str, name: str, seen: set[str]) -> bool:
        for dep in env.macros[name].macros if name in env.macros else ():
            if dep == start_name or (dep not in seen and reaches(start_name, dep, seen | {dep})):
                return True
        return False

    return [name for name in env.macros if reaches(name, name, {name})]


# --- rules --------------------------------------------------------------------------------


def _rules(
    parsed: list[_File],
    env: Environment,
    kinds: set[str],
    templates: frozenset[str],
    problems: Problems,
    deadline: limits.Deadline,
) -> list[LoadedRule]:
    loaded: list[LoadedRule] = []
    seen: dict[str, str] = {}
    changed = _apply_overrides(parsed, env, problems)
    for file in parsed:
        for index, rule in file.rules:
            deadline.at(file.name)
            path = ("rules", index)
            line, _ = start(node_at(file.root, path))
            _check_duplicate(file, index, rule, seen, problems)
            _check_names(file, index, rule, kinds, templates, problems)
            params = _params(file, index, rule, problems)
            conditions = _conditions(file, index, rule, env, problems, lint=rule.id not in changed)
            if params is not None and conditions is not None:
                version = _rule_version(rule, conditions, env)
                by = tuple(changed.get(rule.id, ()))
                source = f"{file.name}:{line}"
                loaded.append(LoadedRule(rule, params, source, *conditions, version=version, changed_by=by))
    return loaded


def _apply_overrides(parsed: list[_File], env: Environment, problems: Problems) -> dict[str, list[str]]:
    """Each `overrides:` entry applied to its rule, in file order; rule id -> file:line of each."""
    slots = {rule.id: (file, slot) for file in parsed for slot, (_, rule) in enumerate(file.rules)}
    changed: dict[str, list[str]] = {}
    for file in parsed:
        for number, change in enumerate(file.content.overrides):
            path: tuple[Any, ...] = ("overrides", number)
            if change.id not in slots:
                message = f"no rule {change.id!r} to override{closest(change.id, slots)}"
                problems.at_node(file.name, node_at(file.root, (*path, "id")), (*path, "id"), message)
                continue
            target, slot = slots[change.id]
            index, rule = target.rules[slot]
            merged = effective(rule, change)
            parts_ok = all(
                _compile(file, path + sub, text, env, problems) is not None
                for sub, text in overridden_parts(change)
            )
            if parts_ok and _override_params(file, path, change, merged, problems):
                target.rules[slot] = (index, merged)
                changed.setdefault(change.id, []).append(f"{file.name}:{start(node_at(file.root, path))[0]}")
    return changed


def _override_params(
    file: _File, path: tuple[Any, ...], change: RuleOverride, merged: Rule, problems: Problems
) -> bool:
    model = DETECTOR_PARAMS.get(merged.detector)
    if model is None:
        return True  # reported with the rule itself
    try:
        model.model_validate(merged.params)
    except ValidationError as error:
        section = "append" if change.append.params else "replace"
        prefix = (*path, section, "params")
        problems.from_validation(file.name, file.root, error, prefix=prefix, params_model=model)
        return False
    return True


def _check_duplicate(file: _File, index: int, rule: Rule, seen: dict[str, str], problems: Problems) -> None:
    node = node_at(file.root, ("rules", index, "id"))
    here = f"{file.name}:{start(node)[0]}"
    if rule.id in seen:
        problems.at_node(
            file.name,
            node,
            ("rules", index, "id"),
            f"duplicate rule id {rule.id!r}, first defined at {seen[rule.id]}",
        )
    seen.setdefault(rule.id, here)


def _check_names(
    file: _File, index: int, rule: Rule, kinds: set[str], templates: frozenset[str], problems: Problems
) -> None:
    path: tuple[str | int, ...]
    if rule.kind not in kinds:
        path = ("rules", index, "kind")
        problems.at_node(
            file.name,
            node_at(file.root, path),
            path,
            f"unknown kind {rule.kind!r}{closest(rule.kind, kinds)}; declare a new kind under `kinds:`",
        )
    notify = rule.actions.notify
    if notify is not None and notify.template is not None and notify.template not in templates:
        path = ("rules", index, "actions", "notify", "template")
        problems.at_node(
            file.name,
            node_at(file.root, path),
            path,
            f"unknown template {notify.template!r}{closest(notify.template, templates)}",
        )


def _params(file: _File, index: int, rule: Rule, problems: Problems) -> BaseModel | None:
    model = DETECTOR_PARAMS.get(rule.detector)
    if model is None:
        field_name = "detector" if key_node(node_at(file.root, ("rules", index)), "detector") else "kind"
        path = ("rules", index, field_name)
        problems.at_node(
            file.name,
            node_at(file.root, path),
            path,
            f"unknown detector {rule.detector!r}{closest(rule.detector, DETECTOR_PARAMS)}"
            + ("" if DETECTOR_PARAMS else " (no detector is registered: import monitor.detectors first)"),
        )
        return None
    try:
        return model.model_validate(rule.params)
    except ValidationError as error:
        problems.from_validation(
            file.name, file.root, error, prefix=("rules", index, "params"), params_model=model
        )
        return None


def _conditions(
    file: _File, index: int, rule: Rule, env: Environment, problems: Problems, lint: bool = True
) -> tuple[Condition | None, tuple[tuple[str, Condition], ...], tuple[tuple[str, Condition], ...]] | None:
    base = ("rules", index)
    ok = True

    def one(path: tuple[Any, ...], text: str) -> Condition | None:
        nonlocal ok
        condition = _compile(file, base + path, text, env, problems, lint=lint)
        if condition is not None and not _trial(file, base + path, condition, env, problems):
            condition = None
        ok = ok and condition is not None
        return condition

    when = one(("when",), rule.when) if rule.when is not None else None
    escalations = [(e.severity, one(("escalate", i, "when"), e.when)) for i, e in enumerate(rule.escalate)]
    exceptions = [(x.name, one(("exceptions", i, "when"), x.when)) for i, x in enumerate(rule.exceptions)]
    if not ok:
        return None
    return when, tuple(escalations), tuple(exceptions)  # type: ignore[arg-type]


def _compile(
    file: _File,
    path: tuple[Any, ...],
    text: str,
    env: Environment,
    problems: Problems,
    pending: Mapping[str, str] = {},
    lint: bool = True,  # False for a rule an override changed: its parts were linted where written
) -> Condition | None:
    if len(text) > limits.MAX_EXPRESSION_CHARS:
        node = node_at(file.root, path)
        problems.at_node(
            file.name, node, path, f"too long: {len(text)} characters, at most {limits.MAX_EXPRESSION_CHARS}"
        )
        return None
    try:
        condition = compile_condition(text, env, pending)
    except ConditionError as error:
        _report(file, path, error, problems)
        return None
    for offset, message in warnings_of(text, env) if lint else ():
        line, column = position_in(text, offset)
        problems.warn(
            file.name, in_expression(node_at(file.root, path), file.lines, line, column), path, message
        )
    return condition


def _trial(
    file: _File, path: tuple[Any, ...], condition: Condition, env: Environment, problems: Problems
) -> bool:
    try:
        check_by_trial(condition, env)
    except ConditionError as error:
        _report(file, path, error, problems)
        return False
    return True


def _report(file: _File, path: tuple[Any, ...], error: ConditionError, problems: Problems) -> None:
    node = node_at(file.root, path)
    position = in_expression(node, file.lines, error.line, error.column)
    problems.add(file.name, position, path, error.message)


def _digest(loaded: list[LoadedRule], env: Environment, timezones: dict[str, str], kinds: set[str]) -> str:
    shared = {
        "lists": env.lists,
        "macros": {name: m.source for name, m in env.macros.items()},
        "timezones": timezones,
        "kinds": sorted(kinds),
    }
    text = "".join(r.rule.version for r in loaded) + json.dumps(shared, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _rule_version(rule: Rule, conditions: tuple[Any, ...], env: Environment) -> str:
    """The rule's own digest, changed too when a macro or list it uses changes."""
    when, escalations, exceptions = conditions
    used = [c for c in (when, *(c for _, c in escalations), *(c for _, c in exceptions)) if c is not None]
    shared: dict[str, Any] = {}
    while used:
        condition = used.pop()
        for name in condition.lists:
            shared[name] = env.lists[name]
        for name in condition.macros:
            if name not in shared:
                shared[name] = env.macros[name].source
                used.append(env.macros[name])
    if not shared:
        return rule.version
    text = rule.version + json.dumps(shared, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]
