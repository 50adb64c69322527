"""The types of the functions a condition may call: `size`, string methods, conversions, macros;
and `check_condition`, which types a whole condition with them (rules/typecheck.py).

An unknown function is typed `dyn` (not refused here: the CEL package decides whether it exists).
"""

from __future__ import annotations

from rules.expression import Node
from rules.suggest import closest
from rules.typecheck import Checker, Names, TypeMistake, words

_STRING_METHODS = ("startsWith", "endsWith", "contains", "matches")
_CONVERSIONS = {"int": "int", "uint": "uint", "double": "double", "string": "string", "bool": "bool"}
_QUANTIFIERS = ("all", "exists", "exists_one", "existsOne")


def check_condition(source: str, tree: Node, names: Names) -> None:
    """Raise `TypeMistake` when `tree` (parsed from `source`) is not a well-typed condition."""
    Checker(source, names, call_type).condition(tree)


def call_type(check: Checker, node: Node) -> str:
    name = str(node.value)
    if node.method and name in (*_QUANTIFIERS, "map", "filter") and len(node.children) == 3:
        return _comprehension(check, node, name)
    if name == "has":
        return "bool"  # has(x.f) asks whether the field is set: its argument is not evaluated
    arguments = [(child, check.type(child)) for child in node.children]
    if name == "in_zone" and not node.method:
        return _in_zone(check, node, arguments)
    if name in _STRING_METHODS and node.method:
        for child, kind in arguments:
            _need(check, child, kind, "string", f"used with `{name}`")
        return "bool"
    if name == "size":
        child, kind = arguments[0]
        if kind not in ("string", "bytes", "map", "dyn") and not kind.startswith("list:"):
            raise TypeMistake(f"`{check.text(child)}` is {words(kind)}, which has no size", child.start)
        return "int"
    return _CONVERSIONS.get(name, "dyn")


def _need(check: Checker, child: Node, kind: str, wanted: str, where: str) -> None:
    if kind not in (wanted, "dyn"):
        raise TypeMistake(
            f"`{check.text(child)}` is {words(kind)}, {where} (needs {words(wanted)})", child.start
        )


def _comprehension(check: Checker, node: Node, name: str) -> str:
    target, variable, body = node.children
    owner = check.type(target)
    element = owner[5:] if owner.startswith("list:") else "dyn"
    bound = str(variable.value)
    saved = check.scope.get(bound)
    check.scope[bound] = element
    try:
        if name == "map":
            return f"list:{check.type(body)}"
        check.need_bool(body, f"where `{name}` needs true or false")
        return owner if name == "filter" else "bool"
    finally:
        if saved is None:
            check.scope.pop(bound, None)
        else:
            check.scope[bound] = saved


def _in_zone(check: Checker, node: Node, arguments: list[tuple[Node, str]]) -> str:
    if len(arguments) != 1:
        raise TypeMistake('in_zone takes one zone name, e.g. in_zone("airport")', node.start)
    child, kind = arguments[0]
    _need(check, child, kind, "string", "used with `in_zone`")
    if child.kind == "literal" and child.value[1] not in check.names.zones:
        zone = child.value[1]
        where = closest(zone, check.names.zones) or " (zones are declared under `zones:`)"
        raise TypeMistake(f"no zone {zone!r}{where}", child.start, label="unknown zone")
    return "bool"
