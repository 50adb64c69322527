"""YAML read defensively: aliases refused, nesting and size bounded, before anything walks the tree.

A 600-byte file of nested aliases expands to billions of nodes for any code that follows
them, so a rule file may not use aliases at all (`&anchor` alone is harmless). The tree
is composed once and the Python data constructed from that same tree.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError

from rules import limits


class _RuleFileLoader(yaml.SafeLoader):
    """A SafeLoader that refuses aliases and bounds the depth and number of nodes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise ComposerError(
                None, None, "aliases (*name) are not allowed in rule files: write the value out", mark
            )
        self.nodes += 1
        if self.nodes > limits.MAX_YAML_NODES:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise ComposerError(None, None, f"more than {limits.MAX_YAML_NODES} YAML nodes", mark)
        self.depth += 1
        try:
            if self.depth > limits.MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise ComposerError(None, None, f"nested deeper than {limits.MAX_YAML_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def read_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """(the node tree, its Python data); raises `yaml.MarkedYAMLError` on any problem."""
    loader = _RuleFileLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data
