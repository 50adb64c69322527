"""The rule authors' guide stays true: its examples load, every kind and field is documented."""

from __future__ import annotations

import re
from pathlib import Path

from rules.conditions import FIELDS
from rules.loader import load_rules
from rules.templates import BUILTIN_KINDS

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def whole_files(text: str) -> dict[str, str]:
    """The guide's YAML blocks that are whole rule files (fragments are indented)."""
    files = {}
    for number, block in enumerate(BLOCK.findall(text)):
        first = next(line for line in block.splitlines() if line.strip() and not line.startswith("#"))
        if not first.startswith(" "):
            files[f"docs/rules.md#{number}.yaml"] = block
    return files


def test_every_example_rule_file_loads_together_as_one_set():
    files = whole_files(GUIDE.read_text(encoding="utf-8"))
    rule_set = load_rules(files)
    kinds = {rule.rule.kind for rule in rule_set.rules}
    assert set(BUILTIN_KINDS) <= kinds
    assert len(files) >= len(BUILTIN_KINDS) + 3


def test_every_built_in_kind_has_a_worked_example_and_every_field_is_documented():
    text = GUIDE.read_text(encoding="utf-8")
    for kind in BUILTIN_KINDS:
        assert f"### `{kind}`" in text
        assert f"  - id: example-{kind.replace('_', '-')}\n" in text
    for obj, fields in FIELDS.items():
        for name in fields:
            assert f"`{name}`" in text or f"`{obj}.{name}`" in text, f"{obj}.{name} is not documented"


def test_the_fields_table_is_the_one_generated_from_the_declaration():
    from rules.fields import fields_table

    text = GUIDE.read_text(encoding="utf-8")
    documented = text.split("<!-- fields:start -->\n")[1].split("<!-- fields:end -->")[0]
    assert documented == fields_table()


def test_rules_fields_prints_every_field_with_its_type():
    from click.testing import CliRunner

    from rules.fields import CONTEXT
    from tripwatch.cli import main

    output = CliRunner().invoke(main, ["rules", "fields"]).output.splitlines()
    assert len(output) == sum(len(fields) for fields in CONTEXT.values())
    assert any(line.split()[:2] == ["trip.city", "string"] for line in output)
    assert any(line.split()[:2] == ["time.hour", "int"] for line in output)
