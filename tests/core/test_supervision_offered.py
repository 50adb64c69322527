"""The actions a supervisor is offered: one table (core/supervision.py) for every page."""

from __future__ import annotations

from core.supervision import BOARD_ACTIONS, as_json, offered


def test_offered_by_status_and_owner():
    assert offered("open", None, "ana") == ["acknowledge", "take", "assign", "note", "resolve"]
    assert offered("acknowledged", "ana", "ana") == ["assign", "note", "resolve"]  # her own: no take
    assert offered("acknowledged", "bo", "ana") == ["take", "assign", "note", "resolve"]
    assert offered("resolved", "ana", "ana") == ["reopen", "note"]


def test_the_pages_read_the_same_table_as_json():
    table = as_json()
    assert list(table) == list(BOARD_ACTIONS)
    assert table["resolve"]["asks"] and table["take"]["others_only"] and table["assign"]["names_user"]
