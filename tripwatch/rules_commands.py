"""`tripwatch rules ...`: check, test, publish rule sets; show what runs; manage silences."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import redis.asyncio as aioredis

from rules.files import TEST_SUFFIXES
from rules.loader import RuleError, RuleSet, load_rule_dir
from rules.model import parse_duration
from rules.routes import undefined_routes
from tripwatch.loading import command_settings

T = TypeVar("T")
DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@click.group("rules")
def rules_group() -> None:
    """Rule sets: check and test them before they ship, publish them to every worker, silence outreach."""


@rules_group.command("check")
@click.argument("directory", required=False, type=DIR)
@click.option("--strict", is_flag=True, help="Refuse the set on warnings too (exit 1).")
@click.pass_context
def check(ctx: click.Context, directory: Path | None, strict: bool) -> None:
    """Validate every rule file of DIRECTORY (default: TRIPWATCH_RULES_DIR); exit 1 on any problem.

    Warnings (likely mistakes that still load, and `page.to` routes TRIPWATCH_PAGE_ROUTES does not
    define) are listed too; exit 0 unless --strict."""
    settings = command_settings(ctx)
    rule_set = _load(directory or settings.rules_dir)
    warnings = [*rule_set.warnings, *undefined_routes(rule_set, settings.page_routes)]
    for warning in warnings:
        click.echo(warning, err=True)
    for loaded in rule_set.rules:
        if loaded.changed_by:
            click.echo(_effective(loaded))
    if strict and warnings:
        raise click.ClickException(f"rule set refused: {len(warnings)} warning(s) with --strict")
    click.echo(f"ok: {len(rule_set.rules)} rules, rule set version {rule_set.version}")


@rules_group.command("fields")
def fields() -> None:
    """Every field a condition may read, with its type and what it is (as in docs/rules.md)."""
    from rules.fields import CONTEXT

    for obj, declared in CONTEXT.items():
        for name, spec in declared.items():
            click.echo(f"{obj + '.' + name:<26} {spec.type:<7} {spec.about}")


@rules_group.command("test")
@click.argument("directory", required=False, type=DIR)
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Scenario file (repeatable). Without it, the test files DIRECTORY/*.test.yaml are run.",
)
@click.option("--against", type=DIR, help="Baseline rule directory: show what DIRECTORY adds and removes.")
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"]),
    help="Wall-clock start of the scenarios (time conditions depend on it); default now, UTC.",
)
@click.option(
    "--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write test files' results as JUnit XML."
)
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="... or as JSON.")
@click.pass_context
def test(
    ctx: click.Context,
    directory: Path | None,
    scenarios: tuple[Path, ...],
    against: Path | None,
    start: datetime | None,
    junit: Path | None,
    json_out: Path | None,
) -> None:
    """Run scenarios through the rule set: per rule, the incidents raised against those expected.

    Without --scenario, runs every test file DIRECTORY/*.test.yaml: each case's scenario and
    the incidents it must raise (kind, severity, rule, labels, within a time), with a diff
    for each case that fails. Exit 1 when anything expected differs, or when a condition
    failed at run time; with --against, only the differences are shown.
    """
    from tools import dry_run
    from tools import dry_run_report as report

    directory = directory or command_settings(ctx).rules_dir
    rule_set = _load(directory)
    baseline = _load(against) if against else None
    start_ms = int((start.timestamp() if start else time.time()) * 1000)
    failed = False
    if not scenarios:
        failed = _run_test_files(rule_set, directory, start_ms, junit, json_out)
    for path in scenarios:
        scenario = _scenario(path)
        run = dry_run.run(rule_set, scenario, start_ms)
        if baseline is None:
            click.echo("\n".join(report.expectations(run, str(path))))
            failed = failed or bool(run.missing() or run.unexpected())
            continue
        before = dry_run.run(baseline, scenario, start_ms)
        comparison = dry_run.compare(before, run)
        click.echo("\n".join(report.differences(comparison, run, baseline.version, str(path))))
    if rule_set.failures:
        click.echo(f"rule set {rule_set.version}:{_failures(dict(rule_set.failures))}", err=True)
    sys.exit(1 if failed or rule_set.failures else 0)


@rules_group.command("publish")
@click.argument("directory", required=False, type=DIR)
@click.option("--by", default="", help="Who publishes (kept with the set).")
@click.pass_context
def publish(ctx: click.Context, directory: Path | None, by: str) -> None:
    """Validate DIRECTORY and make it the rule set every worker runs (within seconds)."""
    from rules import reload

    settings = command_settings(ctx)
    rule_set = _load(directory or settings.rules_dir)
    _with_redis(settings.redis_dsn, lambda redis: reload.publish_rule_set(redis, rule_set, by))
    click.echo(f"published rule set {rule_set.version} ({len(rule_set.rules)} rules)")


@rules_group.command("status")
@click.pass_context
def status(ctx: click.Context) -> None:
    """The published rule set, the version each worker runs, and the last refused set."""
    from rules import reload

    async def read(redis: aioredis.Redis) -> tuple[Any, ...]:
        return (
            await reload.published(redis),
            await reload.worker_versions(redis),
            await reload.last_refused(redis),
        )

    document, workers, refused = _with_redis(command_settings(ctx).redis_dsn, read)
    click.echo(f"published: {document['version'] if document else 'none'}")
    for worker, state in sorted(workers.items()):
        click.echo(f"  worker {worker}: {state['version']}{_failures(state.get('condition_failures') or {})}")
    if refused:
        click.echo(f"last refused: {refused['version']} (by worker {refused['worker']}):")
        click.echo("\n".join(f"  {line}" for line in refused["problems"]))


@rules_group.group("silence")
def silence() -> None:
    """Silence outreach by kind, city and rule, for a while or every day in a window."""


@silence.command("add")
@click.option("--kind", default="*", show_default=True)
@click.option("--city", default="*", show_default=True)
@click.option("--rule", "rule_id", default="*", show_default=True)
@click.option("--for", "duration", default="2h", show_default=True, help="How long: 90m, 2h, 7d.")
@click.option("--daily", default="", help="Only in this local window each day, e.g. 02:00-05:00.")
@click.option("--timezone", default="UTC", show_default=True, help="Zone of --daily.")
@click.option("--reason", default="")
@click.option("--by", default="")
@click.pass_context
def silence_add(ctx: click.Context, /, duration: str, by: str, **fields: Any) -> None:
    from rules import silences

    try:
        seconds = float(parse_duration(duration))
        now = int(time.time() * 1000)
        item = silences.new_silence(until_ms=now + int(seconds * 1000), now_ms=now, created_by=by, **fields)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    _with_redis(command_settings(ctx).redis_dsn, lambda redis: silences.save(redis, item))
    click.echo(f"silence {item.silence_id} added")


@silence.command("list")
@click.pass_context
def silence_list(ctx: click.Context) -> None:
    from rules import silences

    now = int(time.time() * 1000)
    for item in _with_redis(command_settings(ctx).redis_dsn, lambda redis: silences.in_force(redis, now)):
        click.echo(f"{item.silence_id}: {silences.describe(item, now)}")  # in words, as the board shows it


@silence.command("remove")
@click.argument("silence_id")
@click.pass_context
def silence_remove(ctx: click.Context, silence_id: str) -> None:
    from rules import silences

    if not _with_redis(command_settings(ctx).redis_dsn, lambda redis: silences.remove(redis, silence_id)):
        raise click.ClickException(f"no silence {silence_id}")
    click.echo(f"silence {silence_id} removed")


def _scenario(path: Path) -> Any:
    from tools.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except ScenarioError as error:
        raise click.ClickException(str(error)) from None


def _run_test_files(
    rule_set: RuleSet, directory: Path, start_ms: int, junit: Path | None, json_out: Path | None
) -> bool:
    """Every case of DIRECTORY's test files; True when any failed."""
    from rules import expectations
    from tools import dry_run

    files = sorted(p for suffix in TEST_SUFFIXES for p in directory.glob(f"*{suffix}"))
    if not files:
        raise click.ClickException(f"no --scenario given and no test files (*.test.yaml) in {directory}")
    results = []
    for path in files:
        try:
            cases = expectations.load_tests(path)
        except expectations.TestFileError as error:
            raise click.ClickException(str(error)) from None
        for case in cases:
            run = dry_run.run(
                rule_set, _scenario(expectations.scenario_path(path, case)), case.start_ms() or start_ms
            )
            results.append(expectations.judge(case, str(path), list(run.raised.values())))
    for result in results:
        click.echo(f"{'ok  ' if result.passed else 'FAIL'} {result.name} ({result.source})")
        click.echo("".join(f"    {line}\n" for line in result.diff), nl=False)
    click.echo(f"{sum(r.passed for r in results)} of {len(results)} test(s) passed")
    if junit:
        junit.write_text(expectations.as_junit(results), encoding="utf-8")
    if json_out:
        json_out.write_text(expectations.as_json(results), encoding="utf-8")
    return not all(r.passed for r in results)


def _effective(loaded: Any) -> str:
    """A rule changed by overrides, as it runs."""
    import yaml

    content = loaded.rule.model_dump(mode="json", exclude_defaults=True, exclude={"description"})
    text = yaml.safe_dump(content, sort_keys=False, allow_unicode=True, width=100)
    lines = "".join(f"  {line}\n" for line in text.splitlines())
    return (
        f"effective rule {loaded.id} ({loaded.source}, changed by {', '.join(loaded.changed_by)}):\n{lines}"
    )


def _failures(counts: dict[str, int]) -> str:
    """Conditions that failed at run time (taken as false), in words."""
    if not counts:
        return ""
    listed = ", ".join(f"{rule_id} ×{count}" for rule_id, count in sorted(counts.items()))
    return f" (conditions failed at run time, taken as false: {listed})"


def _load(directory: Path) -> RuleSet:
    try:
        return load_rule_dir(directory)
    except RuleError as error:
        click.echo(str(error), err=True)
        raise click.ClickException(f"rule set refused: {len(error.problems)} problem(s)") from None


def _with_redis(dsn: str, use: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
    async def run() -> T:
        client = aioredis.from_url(dsn)
        try:
            return await use(client)
        finally:
            await client.aclose()

    return asyncio.run(run())
