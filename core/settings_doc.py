"""docs/settings.md, made from the settings' own descriptions (`python -m core.settings_doc`).

A test compares the file with this output, so the document cannot drift from the code.
"""

from __future__ import annotations

from pydantic import SecretStr

from core.settings import ENV_PREFIX, Settings

SECTIONS = (
    ("Input and detection", ("max_event", "deadline", "dedup", "trip_", "allowed", "partition_idle",
                             "telemetry_", "rules_")),
    ("Outreach (docs/outreach.md)", ("fcm", "twilio", "webhook", "helpdesk", "pagerduty", "escalation", "page_",
                                     "rate_", "outreach", "checkin", "case_", "sandbox")),
    ("The board and metrics (docs/board.md)", ("board_public", "session_ttl", "session_cookie", "signin", "ack_", "shift",
                                                "ws_", "worker_metrics")),
)  # fmt: skip

INTRO = """# Settings

Every setting is read from the environment variable `TRIPWATCH_<NAME>` or from a TOML file
(`tripwatch --config FILE`, or `TRIPWATCH_CONFIG=FILE`) with the name in lower case; the
environment wins. An unknown or malformed setting stops the command with an error that names it
(with the closest valid name). Secrets never print. This page is generated from
`core/settings.py` by `python -m core.settings_doc > docs/settings.md`.
"""


def render() -> str:
    fields = list(Settings.model_fields)
    grouped: dict[str, list[str]] = {title: [] for title, _ in SECTIONS}
    general: list[str] = []
    for name in fields:
        title = next((t for t, prefixes in SECTIONS if name.startswith(prefixes)), None)
        (grouped[title] if title else general).append(name)
    parts = [INTRO, _table("Services and the embedded default", general)]
    parts += [_table(title, names) for title, names in grouped.items() if names]
    return "\n".join(parts)


def _table(title: str, names: list[str]) -> str:
    rows = [f"## {title}", "", "| variable | default | meaning |", "|---|---|---|"]
    for name in names:
        field = Settings.model_fields[name]
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | {_default(name, field.default)} | "
                    f"{(field.description or '').replace('|', '/')} |")  # fmt: skip
    return "\n".join(rows) + "\n"


def _default(name: str, value: object) -> str:
    if isinstance(value, SecretStr):
        return "(secret)"
    if value is None:
        return "unset"
    if name == "rules_dir":
        return "the built-in `rules/pack`"
    return f"`{value}`" if str(value) != "" else "empty"


if __name__ == "__main__":
    print(render(), end="")
