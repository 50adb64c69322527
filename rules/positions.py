"""Positions in a rule file: the YAML node at a key path, and where a spot in an expression is.

Lines and columns returned here are 1-based, as in `file:line:col`.
"""

from __future__ import annotations

from typing import Any, cast

import yaml


def node_at(root: yaml.Node, loc: tuple[Any, ...], want_key: bool = False) -> yaml.Node:
    """The deepest YAML node along `loc`; with `want_key`, the last key itself."""
    node = root
    for depth, part in enumerate(loc):
        child = _child(node, part, want_key and depth == len(loc) - 1)
        if child is None:
            return node
        node = child
    return node


def duplicate_keys(root: yaml.Node) -> list[tuple[yaml.Node, tuple[Any, ...], int]]:
    """Keys given twice in one mapping (YAML would silently keep the last): (key, its path, first line)."""
    found = []
    pending: list[tuple[yaml.Node, tuple[Any, ...]]] = [(root, ())]
    while pending:
        node, path = pending.pop()
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                if key.value in seen:
                    found.append((key, (*path, key.value), seen[key.value]))
                seen.setdefault(key.value, key.start_mark.line + 1)
                pending.append((value, (*path, key.value)))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((item, (*path, index)) for index, item in enumerate(node.value))
    return sorted(found, key=lambda item: item[0].start_mark.line)


def key_node(mapping: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(mapping, yaml.MappingNode):
        for k, _ in mapping.value:
            if k.value == key:
                return cast(yaml.Node, k)
    return None


def _child(node: yaml.Node, part: Any, want_key: bool) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return cast(yaml.Node, key if want_key else value)
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return cast(yaml.Node, node.value[part])
    return None


def start(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def in_expression(node: yaml.Node, lines: list[str], line: int, column: int) -> tuple[int, int]:
    """File position of (line, column) inside the expression held by scalar `node`."""
    style = getattr(node, "style", None)
    first = node.start_mark.line
    if style == "|":
        indent = _indent(lines, first + 1)
        return first + line + 1, indent + column
    if style in ("'", '"'):
        return first + line, node.start_mark.column + column + 1
    if style == ">":
        return _walk(_segments(lines, first + 1, node.end_mark.line, None), column - 1)
    return _walk(_segments(lines, first, node.end_mark.line, node.start_mark.column), column - 1)


def _indent(lines: list[str], index: int) -> int:
    for text in lines[index:]:
        if text.strip():
            return len(text) - len(text.lstrip(" "))
    return 0


def _segments(
    lines: list[str], first: int, last: int, first_column: int | None
) -> list[tuple[int, int, str]]:
    """(line index, column of its first character, text) of each source line the scalar folds."""
    segments = []
    for index in range(first, min(last, len(lines) - 1) + 1):
        text = lines[index]
        column = (
            first_column if index == first and first_column is not None else len(text) - len(text.lstrip())
        )
        content = text[column:].rstrip()
        if content:
            segments.append((index, column, content))
    return segments


def _walk(segments: list[tuple[int, int, str]], offset: int) -> tuple[int, int]:
    """Folded scalars join their lines with one space: find the line holding `offset`."""
    for index, column, content in segments:
        if offset <= len(content):
            return index + 1, column + offset + 1
        offset -= len(content) + 1
    index, column, content = segments[-1] if segments else (0, 0, "")
    return index + 1, column + len(content) + 1
