"""A CEL expression as a tree with positions: what the type checker and the lint walk.

The `common-expression-language` package compiles and runs expressions but exposes no
syntax tree and no type checker (0.10: `Program.variables()` and `functions()` only), so
conditions are parsed a second time here, after the package has accepted them. Only
what a valid expression can hold is handled; `ParseFailed` means "not understood here",
never "invalid": the caller then skips the static checks for that expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|//[^\n]*)
  | (?P<string>[rRbB]{0,2}(?:\"\"\"(?:.|\n)*?\"\"\"|'''(?:.|\n)*?'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'))
  | (?P<number>0[xX][0-9a-fA-F]+[uU]?|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?[uU]?)
  | (?P<name>[A-Za-z_]\w*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[<>!+\-*/%?:.,()\[\]{}])
    """,
    re.VERBOSE,
)
_RELATIONS = ("==", "!=", "<", "<=", ">", ">=", "in")
_LITERAL_NAMES = {"true": ("bool", True), "false": ("bool", False), "null": ("null", None)}


class ParseFailed(Exception):
    """The expression holds something this parser does not understand."""


@dataclass
class Node:
    kind: str  # literal, name, select, index, call, list, map, unary, binary, choose
    start: int  # offsets into the source, end exclusive
    end: int
    value: Any = None  # literal: (type, value); name/select/call: the name; unary/binary: operator
    children: list[Node] = field(default_factory=list)  # call: [target?] + arguments
    method: bool = False  # a call on a target: `x.startsWith("a")`


@dataclass
class _Token:
    kind: str
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def parse(source: str) -> Node:
    parser = _Parser(_tokens(source), len(source))
    node = parser.choose()
    if parser.peek().kind != "end":
        raise ParseFailed(f"unexpected {parser.peek().text!r}")
    return node


def _tokens(source: str) -> list[_Token]:
    tokens, offset = [], 0
    while offset < len(source):
        match = _TOKEN.match(source, offset)
        if match is None:
            raise ParseFailed(f"unexpected {source[offset]!r}")
        kind = match.lastgroup or "space"
        if kind != "space":
            tokens.append(_Token(kind, match.group(0), offset))
        offset = match.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token], length: int) -> None:
        self.tokens, self.position, self.length = tokens, 0, length

    def peek(self) -> _Token:
        return self.tokens[self.position]

    def take(self, text: str | None = None) -> _Token:
        token = self.tokens[self.position]
        if text is not None and token.text != text:
            raise ParseFailed(f"expected {text!r}, found {token.text!r}")
        self.position += 1
        return token

    def at(self, *texts: str) -> bool:
        token = self.peek()
        return token.kind in ("op", "name") and token.text in texts

    def choose(self) -> Node:
        test = self.binary(0)
        if not self.at("?"):
            return test
        self.take("?")
        then = self.binary(0)
        self.take(":")
        otherwise = self.choose()
        return Node("choose", test.start, otherwise.end, "?:", [test, then, otherwise])

    _LEVELS = (("||",), ("&&",), _RELATIONS, ("+", "-"), ("*", "/", "%"))

    def binary(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.at(*self._LEVELS[level]):
            operator = self.take().text
            right = self.binary(level + 1)
            left = Node("binary", left.start, right.end, operator, [left, right])
        return left

    def unary(self) -> Node:
        if self.at("!", "-"):
            token = self.take()
            operand = self.unary()
            return Node("unary", token.start, operand.end, token.text, [operand])
        return self.member(self.primary())

    def member(self, node: Node) -> Node:
        while self.at(".", "["):
            if self.take().text == "[":
                index = self.choose()
                end = self.take("]").end
                node = Node("index", node.start, end, None, [node, index])
                continue
            name = self.take()
            if self.at("("):
                arguments, end = self.arguments(")")
                node = Node("call", node.start, end, name.text, [node, *arguments], method=True)
            else:
                node = Node("select", node.start, name.end, name.text, [node])
        return node

    def arguments(self, closing: str) -> tuple[list[Node], int]:
        self.take()
        items: list[Node] = []
        while not self.at(closing):
            items.append(self.choose())
            if not self.at(closing):
                self.take(",")
        return items, self.take(closing).end

    def primary(self) -> Node:
        token = self.peek()
        if token.kind == "number":
            self.take()
            return Node("literal", token.start, token.end, _number(token.text))
        if token.kind == "string":
            self.take()
            return Node("literal", token.start, token.end, _string(token.text))
        if token.kind == "name":
            return self.named()
        if self.at("("):
            self.take()
            inner = self.choose()
            self.take(")")
            return inner
        if self.at("["):
            start = token.start
            items, end = self.arguments("]")
            return Node("list", start, end, None, items)
        if self.at("{"):
            return self.mapping()
        raise ParseFailed(f"unexpected {token.text!r}")

    def named(self) -> Node:
        token = self.take()
        if token.text in _LITERAL_NAMES:
            return Node("literal", token.start, token.end, _LITERAL_NAMES[token.text])
        if self.at("("):
            arguments, end = self.arguments(")")
            return Node("call", token.start, end, token.text, arguments)
        return Node("name", token.start, token.end, token.text)

    def mapping(self) -> Node:
        start = self.take("{").start
        entries: list[Node] = []
        while not self.at("}"):
            entries.append(self.choose())
            self.take(":")
            entries.append(self.choose())
            if not self.at("}"):
                self.take(",")
        return Node("map", start, self.take("}").end, None, entries)


def _number(text: str) -> tuple[str, Any]:
    if text[-1] in "uU":
        return "uint", int(text[:-1], 0)
    if text.lower().startswith("0x"):
        return "int", int(text, 16)
    if any(mark in text for mark in ".eE"):
        return "double", float(text)
    return "int", int(text)


def _string(text: str) -> tuple[str, Any]:
    prefix = re.match(r"[rRbB]*", text).group(0)  # type: ignore[union-attr]
    body = text[len(prefix) :]
    quote = 3 if body[:3] in ('"""', "'''") else 1
    kind = "bytes" if "b" in prefix.lower() else "string"
    return kind, body[quote:-quote]
