"""The closest valid name to a misspelt one, for "did you mean" hints."""

from __future__ import annotations

import difflib
from typing import Any


def closest(word: str, choices: Any) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""
