"""The rule schema as data: what a rule file may say, validated once at load.

A rule file holds `rules`, and may define shared pieces the rules of every file reuse:
`lists` (named lists of values), `macros` (named conditions), `kinds` (new incident
kinds) and `timezones` (city -> IANA zone, for `time.hour` and friends). See
`docs/rules.md` for the authors' guide.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

Severity = Literal["critical", "high", "medium", "low"]
Channel = Literal["push", "sms", "webhook"]
CHANNELS: tuple[str, ...] = ("push", "sms", "webhook")

NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> Any:
    """`90`, `"90s"`, `"10m"`, `"2h"`, `"1d"` -> seconds; anything else is left for the type check."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"not a duration like 90s, 10m or 2h (got {value!r})")
        return float(match.group(1)) * _UNIT_S[match.group(2)]
    return value


Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0, le=7 * 86400)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)  # "true" or "300" is refused


class Notify(_Strict):
    """Tell the passenger: which message (template) over which channels, in preference order."""

    template: str | None = None  # default: the rule's kind
    channels: list[Channel] = Field(default_factory=lambda: list[Channel](["push", "sms"]), min_length=1)
    refund: bool = False  # the platform refunds for this incident: messages may promise a refund
    group_wait: Duration | None = None  # wait before the first message; default: the outreach setting


class Page(_Strict):
    """Page a person or team (an on-call rotation) when the incident opens."""

    to: str = Field(min_length=1)
    after: Duration = 0.0  # page only if still unacknowledged this long after opening


class Actions(_Strict):
    notify: Notify | None = None
    open_case: bool = False
    page: Page | None = None
    repeat_interval: Duration | None = None  # re-notify an unacknowledged incident this often
    resolve_after: Duration | None = None  # resolve by itself this long after opening (final events)


class Escalation(_Strict):
    """Raise the rule's severity when a condition holds (the highest matching one wins)."""

    when: str = Field(min_length=1)
    severity: Severity


class RuleException(_Strict):
    """Like Falco's exceptions: a named case the rule must not fire for."""

    name: str = Field(min_length=1)
    when: str = Field(min_length=1)


class Rule(_Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    kind: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    detector: str = ""  # default: the kind
    params: dict[str, Any] = {}
    when: str | None = None
    severity: Severity = "medium"
    escalate: list[Escalation] = []
    exceptions: list[RuleException] = []
    actions: Actions = Actions()
    enabled: bool = True
    tags: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _detector_defaults_to_kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("detector") and isinstance(data.get("kind"), str):
            return {**data, "detector": data["kind"]}
        return data

    @property
    def version(self) -> str:
        """A short digest of the rule's content: it changes whenever the rule does."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:10]


class Appended(_Strict):
    """What an override adds to a rule: `when` is joined with `&&`, lists are extended, params merged."""

    when: str | None = Field(None, min_length=1)
    exceptions: list[RuleException] = []
    escalate: list[Escalation] = []
    params: dict[str, Any] = {}
    tags: list[str] = []


class Replaced(_Strict):
    """What an override puts in place of the rule's own (only the fields given)."""

    description: str | None = None
    params: dict[str, Any] | None = None
    when: str | None = Field(None, min_length=1)
    severity: Severity | None = None
    escalate: list[Escalation] | None = None
    exceptions: list[RuleException] | None = None
    actions: Actions | None = None
    enabled: bool | None = None
    tags: list[str] | None = None


class RuleOverride(_Strict):
    """A change to a rule defined elsewhere in the set, by id, without copying it (as Falco's `override`)."""

    id: str = Field(min_length=1)
    append: Appended = Appended()
    replace: Replaced = Replaced()


ListName = Annotated[str, Field(pattern=NAME)]
ZonePoint = Annotated[list[Annotated[float, Field(ge=-180, le=180)]], Field(min_length=2, max_length=2)]


class RuleFile(_Strict):
    kinds: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]] = []
    timezones: dict[str, str] = {}
    lists: dict[ListName, list[str | int | float | bool]] = {}
    macros: dict[ListName, str] = {}
    zones: dict[ListName, Annotated[list[ZonePoint], Field(min_length=3)]] = {}  # [lat, lon] polygons
    rules: list[Rule] = []

    @field_validator("zones")
    @classmethod
    def _latitudes(cls, zones: dict[str, list[list[float]]]) -> dict[str, list[list[float]]]:
        for name, polygon in zones.items():
            if any(not -90 <= lat <= 90 for lat, _ in polygon):
                raise ValueError(f"zone {name!r}: a latitude is outside -90..90 (points are [lat, lon])")
        return zones

    overrides: list[RuleOverride] = []
