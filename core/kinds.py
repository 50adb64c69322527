"""The incident kinds Tripwatch ships, read once from the built-in rule pack (rules/pack/*.yaml):
each kind's catalogue severity (its rule's `severity`) and whether it is about a person's
safety (its rule's `tags: [safety]`). Nothing else lists kinds: a new kind is a new pack file.

A safety kind is paged at once, never hidden by a silence made without an admin, and first on the
board. `route_deviation` is not one (the catalogue files it under "route"): it becomes a safety
matter at night or heading away from the drop-off, when its rule opens it `critical`, and a
critical incident is treated as safety wherever safety is asked (notifiers.model.IncidentView,
dashboard.rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

PACK = Path(__file__).resolve().parents[1] / "rules" / "pack"
SAFETY_TAG = "safety"


@dataclass(frozen=True)
class Kind:
    name: str
    severity: str
    safety: bool


def read_pack(folder: Path = PACK) -> dict[str, Kind]:
    """Kind name -> Kind, from every rule of the pack's files (in file order)."""
    kinds: dict[str, Kind] = {}
    for path in sorted(folder.glob("*.yaml")):
        for rule in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("rules", []):
            kinds.setdefault(
                rule["kind"], Kind(rule["kind"], rule["severity"], SAFETY_TAG in rule.get("tags", []))
            )
    return kinds


KINDS = read_pack()
