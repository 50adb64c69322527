"""Static types of a condition: every sub-expression typed from the declared fields, at load.

Types are plain strings: `bool`, `int`, `uint`, `double`, `string`, `bytes`, `null`,
`map`, `dyn` (not known statically: never refused), `list:T` and `object:NAME` (one of
the context's objects). A mistake is reported at the offending sub-expression with the
types in words ("`trip.city` is a string, compared with the number 3").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rules.expression import Node
from rules.fields import CONTEXT, TYPE_WORDS

NUMBERS = ("int", "uint", "double")
_WORDS = {**TYPE_WORDS, "uint": "an unsigned number", "null": "null", "bytes": "bytes", "map": "a map"}


class TypeMistake(Exception):
    def __init__(self, message: str, offset: int, label: str = "wrong type") -> None:
        super().__init__(message)
        self.message, self.offset, self.label = message, offset, label


@dataclass
class Names:
    """What bare names mean in one rule set: list element types and macro names."""

    lists: Mapping[str, str]  # list name -> its type (`list:string`)
    macros: frozenset[str]
    zones: frozenset[str] = frozenset()


def list_type(values: list[Any]) -> str:
    kinds = {_value_type(v) for v in values}
    if kinds <= set(NUMBERS) and len(kinds) > 1:
        return "list:double"
    return f"list:{kinds.pop()}" if len(kinds) == 1 else "list:dyn"


def _value_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    return {int: "int", float: "double", str: "string"}.get(type(value), "dyn")


def words(kind: str) -> str:
    if kind.startswith("list:"):
        inner = kind[5:]
        return "a list" if inner == "dyn" else f"a list of {_plural(inner)}"
    if kind.startswith("object:"):
        return f"the object `{kind[7:]}`"
    return _WORDS.get(kind, kind)


def _plural(kind: str) -> str:
    return {"string": "strings", "int": "whole numbers", "double": "numbers", "bool": "booleans"}.get(
        kind, kind
    )


class Checker:
    """Types one expression's tree; raises `TypeMistake` at the first mistake."""

    def __init__(self, source: str, names: Names, call_type: Callable[[Checker, Node], str]) -> None:
        self.source, self.names = source, names
        self.scope: dict[str, str] = {}
        self.call_type = call_type  # the functions' table (rules/typecalls.py), kept apart

    def text(self, node: Node) -> str:
        return " ".join(self.source[node.start : node.end].split())

    def describe(self, node: Node, kind: str) -> str:
        if node.kind == "literal":
            noun = "number" if kind in NUMBERS else kind if kind == "string" else "value"
            return f"the {noun} {self.text(node)}"
        return f"`{self.text(node)}` ({words(kind)})"

    def condition(self, node: Node) -> None:
        kind = self.type(node)
        if kind not in ("bool", "dyn"):
            raise TypeMistake(
                f"the condition must be true or false, but `{self.text(node)}` is {words(kind)}", node.start
            )

    def type(self, node: Node) -> str:
        return _RULES[node.kind](self, node)

    def need_bool(self, node: Node, where: str) -> None:
        kind = self.type(node)
        if kind not in ("bool", "dyn"):
            raise TypeMistake(f"`{self.text(node)}` is {words(kind)}, {where}", node.start)

    # --- node kinds -----------------------------------------------------------------------

    def literal(self, node: Node) -> str:
        return str(node.value[0])

    def name(self, node: Node) -> str:
        name = str(node.value)
        if name in self.scope:
            return self.scope[name]
        if name in CONTEXT:
            return f"object:{name}"
        if name in self.names.macros:
            return "bool"
        return self.names.lists.get(name, "dyn")

    def select(self, node: Node) -> str:
        owner = self.type(node.children[0])
        if owner.startswith("object:"):
            spec = CONTEXT[owner[7:]].get(str(node.value))
            return spec.type if spec else "dyn"
        if owner in ("map", "dyn"):
            return "dyn"
        raise TypeMistake(
            f"`{self.text(node.children[0])}` is {words(owner)} and has no field {node.value!r}", node.start
        )

    def index(self, node: Node) -> str:
        owner = self.type(node.children[0])
        self.type(node.children[1])
        return owner[5:] if owner.startswith("list:") else "dyn"

    def list(self, node: Node) -> str:
        kinds = {self.type(child) for child in node.children}
        if kinds and kinds <= set(NUMBERS) and len(kinds) > 1:
            return "list:double"
        return f"list:{kinds.pop()}" if len(kinds) == 1 else "list:dyn"

    def map(self, node: Node) -> str:
        for child in node.children:
            self.type(child)
        return "map"

    def unary(self, node: Node) -> str:
        operand = node.children[0]
        if node.value == "!":
            self.need_bool(operand, "where `!` needs true or false")
            return "bool"
        kind = self.type(operand)
        if kind not in (*NUMBERS, "dyn"):
            raise TypeMistake(f"`{self.text(operand)}` is {words(kind)}, negated with `-`", operand.start)
        return kind

    def choose(self, node: Node) -> str:
        test, then, otherwise = node.children
        self.need_bool(test, "used as the test of `? :`")
        first, second = self.type(then), self.type(otherwise)
        return first if first == second else "dyn"

    def binary(self, node: Node) -> str:
        operator = str(node.value)
        if operator in ("&&", "||"):
            for operand in node.children:
                self.need_bool(operand, f"where `{operator}` needs true or false")
            return "bool"
        left, right = node.children
        left_type, right_type = self.type(left), self.type(right)
        return _BINARY[operator](self, node, (left, left_type), (right, right_type))

    def call(self, node: Node) -> str:
        return self.call_type(self, node)


def _comparable(a: str, b: str) -> bool:
    if a.startswith("list:") and b.startswith("list:"):
        return _comparable(a[5:], b[5:])  # `[]` is a list of anything
    return "dyn" in (a, b) or a == b or (a in NUMBERS and b in NUMBERS)


def _mistake(check: Checker, left: tuple[Node, str], right: tuple[Node, str], verb: str) -> TypeMistake:
    (node, kind), (other, other_kind) = left, right
    subject = (
        f"the {'number' if kind in NUMBERS else kind} {check.text(node)}"
        if node.kind == "literal"
        else (f"`{check.text(node)}`")
    )
    return TypeMistake(f"{subject} is {words(kind)}, {verb} {check.describe(other, other_kind)}", node.start)


def _relation(check: Checker, node: Node, left: tuple[Node, str], right: tuple[Node, str]) -> str:
    a, b = left[1], right[1]
    ordered = node.value not in ("==", "!=")
    if ordered and not ({a, b} <= {*NUMBERS, "dyn"} or {a, b} <= {"string", "dyn"}):
        raise _mistake(check, left, right, "compared with")
    if not (_comparable(a, b) or "null" in (a, b)):
        raise _mistake(check, left, right, "compared with")
    return "bool"


def _membership(check: Checker, node: Node, left: tuple[Node, str], right: tuple[Node, str]) -> str:
    container = right[1]
    if container.startswith("list:"):
        if not _comparable(left[1], container[5:]):
            raise _mistake(check, left, right, "looked up in")
        return "bool"
    if container not in ("map", "dyn"):
        raise _mistake(check, left, right, "looked up with `in` in")
    return "bool"


def _arithmetic(check: Checker, node: Node, left: tuple[Node, str], right: tuple[Node, str]) -> str:
    a, b = left[1], right[1]
    if "dyn" in (a, b):
        return a if b == "dyn" else b
    if a == b and (a in NUMBERS or (node.value == "+" and (a == "string" or a.startswith("list:")))):
        return a
    if a in NUMBERS and b in NUMBERS:
        raise TypeMistake(
            f"`{check.text(left[0])}` is {words(a)} and `{check.text(right[0])}` {words(b)}: "
            f"arithmetic does not mix them (write double(…) or int(…))",
            left[0].start,
        )
    raise _mistake(check, left, right, f"combined with `{node.value}` with")


_BINARY: dict[str, Callable[[Checker, Node, tuple[Node, str], tuple[Node, str]], str]] = {
    **{op: _relation for op in ("==", "!=", "<", "<=", ">", ">=")},
    "in": _membership,
    **{op: _arithmetic for op in ("+", "-", "*", "/", "%")},
}
_RULES: dict[str, Callable[[Checker, Node], str]] = {
    "literal": Checker.literal,
    "name": Checker.name,
    "select": Checker.select,
    "index": Checker.index,
    "list": Checker.list,
    "map": Checker.map,
    "unary": Checker.unary,
    "choose": Checker.choose,
    "binary": Checker.binary,
    "call": Checker.call,
}
