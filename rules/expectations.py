"""Test files beside the rules (`*.test.yaml`): scenarios and the incidents they must raise.

```yaml
tests:
  - name: a late pickup in Berlin is high
    scenario: ../scenarios/grace_change.jsonl     # relative to this file
    start: "2026-01-10T12:00:00+0000"             # optional: when the scenario is taken to start
    only: true                                    # default: no other incident may be raised
    incidents:
      - {kind: pickup_delay, order: late, severity: high, rule: pickup-delay, within: 2m, labels: {city: berlin}}
```

Plain data in, plain data out: the command layer runs the scenarios (`tools.dry_run`) and
hands each case's raised incidents to `judge`; reports as text diff, JUnit XML or JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rules.model import Duration, Severity
from rules.problems import Problems
from rules.reading import read_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Expected(_Strict):
    kind: str
    order: str
    severity: Severity | None = None
    rule: str | None = None
    within: Duration | None = None  # the incident opens at most this long after the scenario starts
    labels: dict[str, str] = {}


class Case(_Strict):
    name: str = Field(min_length=1)
    scenario: str
    start: str | None = None
    only: bool = True
    incidents: list[Expected] = []

    def start_ms(self) -> int | None:
        if self.start is None:
            return None
        return int(datetime.fromisoformat(self.start.replace("Z", "+00:00")).timestamp() * 1000)


class TestFile(_Strict):
    tests: list[Case] = Field(min_length=1)


_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): TestFile,
    ("tests",): Case,
    ("tests", "incidents"): Expected,
}


class TestFileError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class CaseResult:
    name: str
    source: str  # file of the test
    diff: list[str] = field(default_factory=list)  # `- expected`, `+ raised`, `~ differs`: empty when passed

    @property
    def passed(self) -> bool:
        return not self.diff


def load_tests(path: Path) -> list[Case]:
    """The cases of one test file; `TestFileError` with `file:line:col` problems."""
    problems = Problems()
    try:
        root, data = read_yaml(path.read_text(encoding="utf-8"))
        parsed = TestFile.model_validate(data if data is not None else {})
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise TestFileError(
            [f"{path}:{where[0]}:{where[1]}: (file): not valid YAML: {error.problem}"]
        ) from None
    except ValidationError as error:
        if root is None:
            raise TestFileError([f"{path}:1:1: tests: required field is missing"]) from None
        problems.from_validation(str(path), root, error, models=_MODELS)
        raise TestFileError(problems.lines) from None
    return list(parsed.tests)


def scenario_path(test_file: Path, case: Case) -> Path:
    return (test_file.parent / case.scenario).resolve()


def judge(case: Case, source: str, raised: list[Any]) -> CaseResult:
    """`raised`: the incidents the rule set raised (`tools.dry_run.Raised`), compared with the case."""
    result = CaseResult(case.name, source)
    left = list(raised)
    for expected in case.incidents:
        hit = next((r for r in left if (r.kind, r.order_id) == (expected.kind, expected.order)), None)
        if hit is None:
            result.diff.append(f"- {_expected(expected)}: not raised")
            continue
        left.remove(hit)
        result.diff.extend(f"~ {expected.kind} on {expected.order}: {d}" for d in _differences(expected, hit))
    if case.only:
        result.diff.extend(
            f"+ {r.kind} on {r.order_id} ({r.severity}, rule {r.rule_id}): not expected" for r in left
        )
    return result


def _expected(expected: Expected) -> str:
    parts = [f"{expected.kind} on {expected.order}"]
    parts += [
        f"{name} {value}"
        for name, value in (("severity", expected.severity), ("rule", expected.rule))
        if value
    ]
    return ", ".join(parts)


def _differences(expected: Expected, raised: Any) -> list[str]:
    found = []
    if expected.severity and raised.severity != expected.severity:
        found.append(f"severity {raised.severity}, expected {expected.severity}")
    if expected.rule and raised.rule_id != expected.rule:
        found.append(f"rule {raised.rule_id}, expected {expected.rule}")
    if expected.within is not None and raised.onset_s > expected.within:
        found.append(f"opened at {raised.onset_s:g} s, expected within {expected.within:g} s")
    for name, value in expected.labels.items():
        if raised.labels.get(name) != value:
            found.append(f"label {name} {raised.labels.get(name)!r}, expected {value!r}")
    return found


def as_json(results: list[CaseResult]) -> str:
    cases = [{**asdict(r), "passed": r.passed} for r in results]
    return json.dumps({"passed": all(r.passed for r in results), "cases": cases}, indent=2)


def as_junit(results: list[CaseResult]) -> str:
    failures = sum(not r.passed for r in results)
    suite = ElementTree.Element(
        "testsuite", name="tripwatch rules test", tests=str(len(results)), failures=str(failures)
    )
    for result in results:
        case = ElementTree.SubElement(suite, "testcase", name=result.name, classname=result.source)
        if not result.passed:
            failure = ElementTree.SubElement(case, "failure", message=result.diff[0])
            failure.text = "\n".join(result.diff)
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)
