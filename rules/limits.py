"""The bounds a rule set must stay within: hostile or runaway files are refused fast.

Every limit is checked before the costly work it guards (sizes before YAML parsing,
aliases and nesting while composing, the time budget between files and rules).
The numbers are listed in docs/rules.md ("Limits").
"""

from __future__ import annotations

import time
from dataclasses import dataclass

MAX_FILE_BYTES = 256 * 1024  # one rule file
MAX_SET_BYTES = 2 * 1024 * 1024  # every file of a set together
MAX_FILES = 200
MAX_YAML_NODES = 50_000  # per file: mappings, lists and values
MAX_YAML_DEPTH = 32  # nesting of mappings and lists
MAX_EXPRESSION_CHARS = 4_000  # one `when`, `escalate` or macro
MAX_CHECK_S = 8.0  # the whole check of a set


class CheckTooSlow(Exception):
    """The check of a set ran past its time budget."""


@dataclass
class Deadline:
    """The time budget of one check; `check` raises once it has run out."""

    seconds: float = MAX_CHECK_S
    started: float = 0.0
    where: str = "rule set"  # the file being checked, named when the budget runs out

    def __post_init__(self) -> None:
        self.started = self.started or time.monotonic()

    def check(self) -> None:
        if time.monotonic() - self.started > self.seconds:
            raise CheckTooSlow(f"the check ran past its {self.seconds:g} s budget")

    def at(self, where: str) -> None:
        """About to check `where` (a file name): stop here if the budget has run out."""
        self.where = where
        self.check()
