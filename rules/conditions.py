"""Rule conditions in CEL (the `common-expression-language` package): compiled once at load.

A condition sees five objects, with fixed fields (declared in `rules.fields`):
`trip`, `event`, `passenger`, `time` and `incident`, plus the rule set's named `lists`
and `macros`, used by bare name. Everything an author can get wrong is found at load:
syntax (with the position in the expression), unknown fields, lists and macros (with
the closest valid name), type mistakes anywhere in the expression (`rules.typecheck`,
over the tree of `rules.expression`), and what is left on a trial run over typical values.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import cel

from rules.expression import ParseFailed, parse
from rules.fields import UNKNOWN
from rules.suggest import closest
from rules.typecalls import check_condition
from rules.typecheck import Names, TypeMistake, list_type

log = logging.getLogger(__name__)

# object -> field -> the value a field has when the fact is unknown (its type, too); declared in rules.fields
FIELDS: dict[str, dict[str, Any]] = UNKNOWN
OBJECTS = tuple(FIELDS)
_COMPREHENSION = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
_SYNTAX = re.compile(r"<input>:(\d+):(\d+): (.*)")
_STRING = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'")


class ConditionError(ValueError):
    """A problem in one expression; `line` and `column` are 1-based, inside the expression."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@dataclass(frozen=True)
class Condition:
    source: str
    program: Any  # cel.Program
    macros: tuple[str, ...]  # macros it uses, directly
    lists: tuple[str, ...]
    # the objects and fields it reads (None: the whole object). CEL converts every value it
    # is given on each run (about 5 µs a field), so a run is given only these.
    needs: tuple[tuple[str, tuple[str, ...] | None], ...] = ()
    uses_zones: bool = False  # calls in_zone(): run with the trip's zones at hand


@dataclass
class Environment:
    """The shared pieces of a rule set that conditions may name."""

    lists: dict[str, list[Any]] = field(default_factory=dict)
    macros: dict[str, Condition] = field(default_factory=dict)
    cities: frozenset[str] = frozenset()  # the cities given a time zone: the ones the lint knows
    zones: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # name -> polygon

    def names(self) -> list[str]:
        return [*self.lists, *self.macros]


def compile_condition(source: str, env: Environment, pending_macros: Mapping[str, str] = {}) -> Condition:
    """Compile and check one expression; `pending_macros` are macros not compiled yet."""
    try:
        program = cel.compile(source)
    except ValueError as error:
        raise _syntax_error(str(error)) from None
    blanked = _blank_strings(source)
    needs = _needs(blanked)
    bound = set(_COMPREHENSION.findall(blanked))
    macros, lists = [], []
    for name in program.variables():
        if name in OBJECTS or name in bound:
            continue
        if name in env.macros or name in pending_macros:
            macros.append(name)
        elif name in env.lists:
            lists.append(name)
        else:
            raise _unknown_name(blanked, name, env, pending_macros)
    _check_types(source, env, pending_macros)
    uses_zones = "in_zone" in program.functions()
    return Condition(source, program, tuple(macros), tuple(lists), needs, uses_zones)


def _check_types(source: str, env: Environment, pending_macros: Mapping[str, str]) -> None:
    try:
        tree = parse(source)
    except (ParseFailed, RecursionError):
        log.info("condition %r: not understood by the type checker, checked by trial only", source)
        return
    names = Names(
        {n: list_type(v) for n, v in env.lists.items()},
        frozenset([*env.macros, *pending_macros]),
        frozenset(env.zones),
    )
    try:
        check_condition(source, tree, names)
    except TypeMistake as mistake:
        line, column = _position(source, mistake.offset)
        raise ConditionError(f"{mistake.label}: {mistake.message}", line, column) from None
    except RecursionError:
        raise ConditionError("too deeply nested") from None


def check_by_trial(condition: Condition, env: Environment) -> None:
    """Run the condition over typical values: type errors and non-boolean results show now."""
    try:
        result = evaluate(condition, env, sample_context())
    except TypeError as error:
        raise ConditionError(f"wrong type: {_first_sentence(str(error))}") from None
    except (KeyError, RuntimeError, ValueError) as error:
        raise ConditionError(f"bad expression: {_first_sentence(str(error))}") from None
    if not isinstance(result, bool):
        raise ConditionError(f"wrong type: the condition must be true or false, not {type(result).__name__}")


def evaluate(
    condition: Condition, env: Environment, context: dict[str, Any], memo: dict[str, Any] | None = None
) -> Any:
    """The condition's value over `context` (trip, event, ...); macros are evaluated as needed,
    once per `memo` (share one across the conditions judged on one context)."""
    memo = {} if memo is None else memo
    variables = {
        obj: context[obj] if fields is None else {name: context[obj][name] for name in fields}
        for obj, fields in condition.needs
    }
    for name in condition.lists:
        variables[name] = env.lists[name]
    for name in condition.macros:
        if name not in memo:
            memo[name] = evaluate(env.macros[name], env, context, memo)
        variables[name] = memo[name]
    if condition.uses_zones:
        trip = context.get("trip", {})
        inside = {*trip.get("pickup_zones", ()), *trip.get("dropoff_zones", ())}
        return condition.program.execute(cel.Context(variables, functions={"in_zone": inside.__contains__}))
    return condition.program.execute(variables)


def holds(
    condition: Condition,
    env: Environment,
    context: dict[str, Any],
    memo: dict[str, Any] | None = None,
    failed: Callable[[], None] | None = None,
) -> bool:
    """True or false; false when evaluation fails at run time (logged, and `failed` is called)."""
    try:
        return evaluate(condition, env, context, memo) is True
    except (TypeError, KeyError, RuntimeError, ValueError) as error:
        log.warning("condition %r failed (%s): taken as false", condition.source, error)
        if failed is not None:
            failed()
        return False


def sample_context() -> dict[str, Any]:
    return {name: dict(values) for name, values in FIELDS.items()}


def _syntax_error(text: str) -> ConditionError:
    match = _SYNTAX.search(text)
    if match is None:
        return ConditionError(f"bad expression: {text}")
    line, column = int(match.group(1)), int(match.group(2))
    return ConditionError(f"bad expression: {_plain(match.group(3))}", line, column)


def _plain(detail: str) -> str:
    """ANTLR's wording made plain: `mismatched input ')' expecting {...}` -> `unexpected ')'`."""
    detail = detail.removeprefix("Syntax error: ").replace("'<EOF>'", "the end").replace("<EOF>", "the end")
    detail = re.sub(r"^(?:mismatched|extraneous) input (.*?) expecting .*$", r"unexpected \1", detail)
    return detail.replace("unexpected the end", "the expression ends too early")


_FIELD = re.compile(r"(?<![\w.])(" + "|".join(OBJECTS) + r")\s*\.\s*([A-Za-z_]\w*)")
_WHOLE = re.compile(r"(?<![\w.])(" + "|".join(OBJECTS) + r")\b(?!\s*\.\s*[A-Za-z_])")


def _needs(blanked: str) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
    """The fields the expression reads, each checked: an unknown one is refused here."""
    fields: dict[str, set[str]] = {}
    for match in _FIELD.finditer(blanked):
        obj, name = match.group(1), match.group(2)
        if name not in FIELDS[obj]:
            line, column = _position(blanked, match.start(2))
            raise ConditionError(f"unknown field {obj}.{name}{_closest_field(obj, name)}", line, column)
        fields.setdefault(obj, set()).add(name)
    whole = {match.group(1) for match in _WHOLE.finditer(blanked)}
    return tuple(
        (obj, None if obj in whole else tuple(sorted(names))) for obj, names in fields.items()
    ) + tuple((obj, None) for obj in sorted(whole - fields.keys()))


def _closest_field(obj: str, name: str) -> str:
    """Same name on another object first (`trip.hour` -> `time.hour`), then a close spelling."""
    elsewhere = [f"{other}.{name}" for other in OBJECTS if name in FIELDS[other]]
    if elsewhere:
        return f" (did you mean {elsewhere[0]!r}?)"
    return closest(f"{obj}.{name}", [f"{obj}.{n}" for n in FIELDS[obj]])


def _unknown_name(blanked: str, name: str, env: Environment, pending: Mapping[str, str]) -> ConditionError:
    match = re.search(rf"(?<![\w.]){re.escape(name)}\b", blanked)
    line, column = _position(blanked, match.start()) if match else (1, 1)
    choices = [*env.names(), *pending, *OBJECTS]
    return ConditionError(f"unknown macro or list {name!r}{closest(name, choices)}", line, column)


def _blank_strings(source: str) -> str:
    """The expression with string literals' contents blanked out, offsets unchanged."""
    return _STRING.sub(lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1], source)


def position_in(text: str, offset: int) -> tuple[int, int]:
    """(line, column), 1-based, of `offset` in `text`."""
    return _position(text, offset)


def _position(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _first_sentence(text: str) -> str:
    return text.split(". ")[0].rstrip(".")
