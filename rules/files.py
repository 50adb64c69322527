"""Which files of a rule directory are rule files, and the limits checked before any is read.

Refused before parsing: a rule file in a subfolder (a set never silently leaves one out),
a file or a set over the sizes of `rules.limits`.
"""

from __future__ import annotations

from pathlib import Path

from rules import limits

TEST_SUFFIXES = (".test.yaml", ".test.yml")  # expectation files beside the rules (rules.expectations)


def rule_paths(directory: Path) -> list[Path]:
    """The rule files of `directory`: its YAML files, but for its test files."""
    paths = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    return [path for path in paths if not path.name.endswith(TEST_SUFFIXES)]


def in_subfolders(directory: Path) -> list[str]:
    nested = [p for p in sorted(directory.rglob("*.y*ml")) if p.suffix in (".yaml", ".yml")]
    return [
        f"{path}:1:1: (file): rule files in subfolders are not loaded: move it to {directory}"
        for path in nested
        if path.parent != directory and not any(part.startswith(".") for part in path.parts)
    ]


def too_large(paths: list[Path]) -> list[str]:
    sizes = {path: path.stat().st_size for path in paths}
    problems = [
        f"{path}:1:1: (file): too large: {size} bytes, at most {limits.MAX_FILE_BYTES}"
        for path, size in sizes.items()
        if size > limits.MAX_FILE_BYTES
    ]
    return problems or set_limits(len(paths), sum(sizes.values()), str(paths[0].parent) if paths else "")


def set_limits(count: int, size: int, where: str) -> list[str]:
    if count > limits.MAX_FILES:
        return [f"{where}: too many rule files: {count}, at most {limits.MAX_FILES}"]
    if size > limits.MAX_SET_BYTES:
        return [f"{where}: rule set too large: {size} bytes, at most {limits.MAX_SET_BYTES}"]
    return []
