"""Warnings on a condition that loads but is probably a mistake: seen on its tree, statically.

A warning does not refuse the set (`tripwatch rules check --strict` makes it do so). Each
is `(offset in the expression, message)`; the loader turns the offset into `file:line:col`.
Found: comparisons a field's domain can never satisfy or always does (`time.hour > 24`,
`time.day == "saturday"`), city values that cannot arrive (upper case, or not one of the
set's cities), `&&` of two different values for one field, `x == v || x != v`, and
conditions that are a constant (`'false'`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from rules.expression import Node
from rules.fields import CONTEXT, Field

Warning_ = tuple[int, str]
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_TESTS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


@dataclass(frozen=True)
class Comparison:
    """`field op literal`, the field on the left whichever way it was written."""

    field: str  # "trip.city"
    spec: Field
    operator: str
    value: object
    node: Node


def lint_condition(
    source: str, tree: Node, lists: Mapping[str, list[object]], cities: frozenset[str]
) -> list[Warning_]:
    found: list[Warning_] = []
    if tree.kind == "literal" and tree.value[0] == "bool":
        word = "true" if tree.value[1] else "false"
        found.append((tree.start, f"the condition is always {word}: `{source.strip()}`"))
    inner: set[int] = set()  # links of a longer `&&`/`||` chain: the chain is judged once, whole
    for node in _walk(tree):
        if id(node) in inner:
            continue
        if node.kind == "binary" and node.value in ("&&", "||"):
            inner.update(id(n) for n in _links(node, str(node.value)))
        comparison = _comparison(node)
        if comparison is not None:
            found.extend(_domain(source, comparison, cities))
        elif node.kind == "binary" and node.value == "in":
            found.extend(_membership(node, lists, cities))
        elif node.kind == "binary" and node.value in ("&&", "||"):
            found.extend(_contradiction(source, node))
    return found


def _links(node: Node, operator: str) -> list[Node]:
    return [
        child
        for child in node.children
        if child.kind == "binary" and child.value == operator
        for child in (child, *_links(child, operator))
    ]


def _walk(node: Node) -> Iterator[Node]:
    pending = [node]
    while pending:
        current = pending.pop()
        yield current
        pending.extend(reversed(current.children))


def _field_name(node: Node) -> tuple[str, Field] | None:
    if node.kind != "select" or node.children[0].kind != "name":
        return None
    obj, name = str(node.children[0].value), str(node.value)
    spec = CONTEXT.get(obj, {}).get(name)
    return (f"{obj}.{name}", spec) if spec else None


def _comparison(node: Node) -> Comparison | None:
    if node.kind != "binary" or node.value not in _TESTS:
        return None
    left, right = node.children
    operator = str(node.value)
    if right.kind != "literal":
        left, right, operator = right, left, _FLIPPED[operator]
    named = _field_name(left)
    if named is None or right.kind != "literal":
        return None
    return Comparison(named[0], named[1], operator, right.value[1], node)


def _domain(source: str, comparison: Comparison, cities: frozenset[str]) -> list[Warning_]:
    spec, value, at = comparison.spec, comparison.value, comparison.node.start
    text = " ".join(source[comparison.node.start : comparison.node.end].split())
    if isinstance(value, str):
        return [(at, message) for message in _string_domain(comparison.field, spec, value, cities)]
    if spec.low is None or spec.high is None or not isinstance(value, int | float) or isinstance(value, bool):
        return []
    test = _TESTS[comparison.operator]
    outcomes = {test(seen, value) for seen in range(int(spec.low), int(spec.high) + 1)}
    if outcomes == {False}:
        return [(at, f"`{text}` can never be true: {comparison.field} is {spec.low:g}–{spec.high:g}")]
    if outcomes == {True}:
        return [(at, f"`{text}` is always true: {comparison.field} is {spec.low:g}–{spec.high:g}")]
    return []


def _string_domain(name: str, spec: Field, value: str, cities: frozenset[str]) -> list[str]:
    if spec.values and value not in spec.values:
        return [f"{name} is never {value!r}: it is one of {', '.join(spec.values)}"]
    if spec.lower_case and value != value.lower():
        return [f"{name} arrives in lower case: {value!r} never matches (write {value.lower()!r})"]
    if name == "trip.city" and cities and value not in cities:
        return [
            f"{value!r} is not a city of this rule set (cities with a time zone: {', '.join(sorted(cities))})"
        ]
    return []


def _membership(node: Node, lists: Mapping[str, list[object]], cities: frozenset[str]) -> list[Warning_]:
    named = _field_name(node.children[0])
    container = node.children[1]
    if named is None:
        return []
    if container.kind == "list":
        values = [item.value[1] for item in container.children if item.kind == "literal"]
    elif container.kind == "name" and str(container.value) in lists:
        values = list(lists[str(container.value)])
    else:
        return []
    name, spec = named
    return [
        (container.start, message)
        for value in values
        if isinstance(value, str)
        for message in _string_domain(name, spec, value, cities)
    ]


def _contradiction(source: str, node: Node) -> list[Warning_]:
    """`f == "a" && f == "b"` (never true) and `f == v || f != v` (always true), in one chain."""
    operator = str(node.value)
    parts = [c for c in (_comparison(n) for n in _chain(node, operator)) if c and c.operator in ("==", "!=")]
    text = " ".join(source[node.start : node.end].split())
    seen: dict[str, Comparison] = {}
    for part in parts:
        first = seen.setdefault(part.field, part)
        if first is part:
            continue
        if operator == "&&" and _excludes(first, part):
            return [(node.start, f"`{text}` can never be true: {part.field} cannot be both")]
        if operator == "||" and first.value == part.value and first.operator != part.operator:
            return [(node.start, f"`{text}` is always true")]
    return []


def _excludes(a: Comparison, b: Comparison) -> bool:
    if a.operator == b.operator == "==":
        return a.value != b.value
    return a.value == b.value and a.operator != b.operator


def _chain(node: Node, operator: str) -> list[Node]:
    """The operands of a run of one operator: `a && b && c` -> [a, b, c]."""
    if node.kind == "binary" and node.value == operator:
        return [part for child in node.children for part in _chain(child, operator)]
    return [node]
