"""Rules paging a route the settings do not define: warned about, with the rule's place."""

from __future__ import annotations

from pathlib import Path

from rules.loader import load_rule_dir
from rules.routes import undefined_routes

PACK = Path(__file__).resolve().parents[2] / "rules" / "pack"
KEY = "f" * 32


def test_the_pack_pages_only_the_safety_route():
    pack = load_rule_dir(PACK)
    assert undefined_routes(pack, f"safety={KEY}") == []
    [warning] = undefined_routes(pack, f"night-desk={KEY}")
    assert warning.startswith(f"{PACK / 'stop_checkin.yaml'}:") and "rule stop-checkin" in warning
    assert "page route 'safety' is not in TRIPWATCH_PAGE_ROUTES (defined: night-desk)" in warning
