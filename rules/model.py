"""The rule schema as data: what a rule file may say, validated once at load."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["critical", "high", "medium", "low"]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    kind: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    detector: str
    params: dict[str, Any] = {}
    severity: Severity = "medium"
    enabled: bool = True
    tags: list[str] = []

    @property
    def version(self) -> str:
        """A short digest of the rule's content: it changes whenever the rule does."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:10]


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[Rule] = []
