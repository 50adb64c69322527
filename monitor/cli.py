"""The `tripwatch` command line."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from monitor.settings import Settings, SettingsError, load_settings

DEMO_SCENARIO = Path(__file__).resolve().parent.parent / "fixtures" / "demo.jsonl"
DEMO_SPEED = 1.0  # real pace: thresholds in rules are real seconds


def _settings(ctx: click.Context) -> Settings:
    """Load the settings when a command runs (so `--help` works whatever they say)."""
    try:
        settings = load_settings(ctx.obj["config"])
    except SettingsError as error:
        raise click.ClickException(f"bad setting: {error}") from None
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file of settings (keys as in TRIPWATCH_* without the prefix, in lower case).",
)
@click.pass_context
def main(ctx: click.Context, config: Path | None) -> None:
    """Tripwatch: real-time dispatch-incident monitor for ride-hailing platforms.

    Settings come from TRIPWATCH_* environment variables and an optional TOML file;
    see `docs/settings.md`. With no TRIPWATCH_KAFKA_URL / TRIPWATCH_REDIS_URL, the
    embedded broker and Redis started by `tripwatch up` are used.
    """
    ctx.obj = {"config": config}


@main.command()
@click.option("--demo", is_flag=True, help="Also replay the demo scenario once everything is up.")
@click.option(
    "--replay",
    "scenario",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Replay this scenario file once everything is up.",
)
@click.option(
    "--speed",
    type=float,
    default=None,
    help="Replay pace: 2 = twice as fast (default 5 with --demo, else 1).",
)
@click.pass_context
def up(ctx: click.Context, demo: bool, scenario: Path | None, speed: float | None) -> None:
    """Run everything: embedded broker and Redis (unless configured), worker and board.

    Stops everything cleanly on Ctrl-C or SIGTERM, leaving no process behind.
    """
    from monitor.embedded import ServiceError
    from monitor.supervisor import run_up

    if demo and scenario is None:
        scenario = DEMO_SCENARIO
    if speed is None:
        speed = DEMO_SPEED if demo else 1.0
    try:
        code = run_up(_settings(ctx), scenario, speed)
    except ServiceError as error:
        raise click.ClickException(str(error)) from None
    sys.exit(code)


@main.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run one faust worker: detection over the input topics (scale out by running more)."""
    from monitor.worker import run_worker
    from rules.loader import RuleError

    try:
        run_worker(_settings(ctx))
    except RuleError as error:
        raise click.ClickException(f"rules refused:\n{error}") from None


@main.command()
@click.pass_context
def dashboard(ctx: click.Context) -> None:
    """Serve the incident board on TRIPWATCH_DASHBOARD_HOST:TRIPWATCH_DASHBOARD_PORT."""
    from dashboard.main import run_dashboard

    run_dashboard(_settings(ctx))


@main.command()
@click.argument("scenario", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--speed", default=1.0, show_default=True, help="Replay pace: 2 = twice as fast, 0 = at once.")
@click.pass_context
def replay(ctx: click.Context, scenario: Path, speed: float) -> None:
    """Produce a scenario's events to the broker, keyed by order_id, times shifted to now."""
    from monitor.replay import replay_file
    from monitor.scenario import ScenarioError

    if speed < 0:
        raise click.BadParameter("must be 0 (at once) or more", param_hint="--speed")
    try:
        count = asyncio.run(replay_file(_settings(ctx), scenario, speed))
    except ScenarioError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"replayed {count} events from {scenario}")


@main.command()
@click.pass_context
def topics(ctx: click.Context) -> None:
    """Create Tripwatch's topics with the configured partition count (idempotent)."""
    from monitor.topics import ensure_topics

    asyncio.run(ensure_topics(_settings(ctx)))
    click.echo("topics ready")


if __name__ == "__main__":
    main()
