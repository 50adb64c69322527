"""Which message templates a rule's `actions.notify.template` may name.

The outreach code keeps its jinja2 templates under `notifiers/templates/`, one folder per
locale with one file per template name (`notifiers/templates/<locale>/<name>.j2`; also
accepted: `<name>/<...>.j2` and `<name>.<...>.j2`). A template name is valid when a file
of that name exists in any locale. Until any exists, the built-in kinds are the valid names.

`available_templates()` is the one function the loader asks; the outreach code may
point `TEMPLATE_ROOT` elsewhere or replace the function's fallback, nothing else changes.
"""

from __future__ import annotations

import re
from pathlib import Path

from core.incidents import BUILTIN_KINDS

_LOCALE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z]{2,4})?")
TEMPLATE_ROOT = Path(__file__).resolve().parent.parent / "notifiers" / "templates"


def available_templates(root: Path | None = None) -> frozenset[str]:
    """Template names found under `root` (default `TEMPLATE_ROOT`), else the built-in kinds."""
    names = _names_under(root or TEMPLATE_ROOT)
    return names or frozenset(BUILTIN_KINDS)


def _names_under(root: Path) -> frozenset[str]:
    if not root.is_dir():
        return frozenset()
    names: set[str] = set()
    for entry in root.iterdir():
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir() and _LOCALE.fullmatch(entry.name):
            names.update(path.name.split(".")[0] for path in entry.glob("*.j2"))
        elif entry.is_dir() and any(entry.glob("*.j2")):
            names.add(entry.name)
        elif entry.is_file() and entry.suffix == ".j2":
            names.add(entry.name.split(".")[0])
    return frozenset(names)


def locales_missing(name: str, root: Path | None = None) -> list[str]:
    """The locale folders under `root` without a template `name` (none when there are no locales)."""
    root = root or TEMPLATE_ROOT
    if not root.is_dir():
        return []
    locales = sorted(e for e in root.iterdir() if e.is_dir() and _LOCALE.fullmatch(e.name))
    return [
        locale.name
        for locale in locales
        if not any(locale.glob(f"{name}.j2")) and not any(locale.glob(f"{name}.*.j2"))
    ]
