"""The `tripwatch` command line."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

import monitor.detectors  # noqa: F401  (each detector registers its params with the rule loader)
from dashboard.users_cli import users as users_command
from tripwatch.loading import command_settings
from tripwatch.rules_commands import rules_group

DEMO_SCENARIO = Path(__file__).resolve().parent.parent / "fixtures" / "demo.jsonl"
DEMO_SPEED = 1.0  # real pace: thresholds in rules are real seconds


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
    """Run everything: embedded broker and Redis (unless configured), worker, outreach and board.

    Publishes the rule set of TRIPWATCH_RULES_DIR (a broken set refuses to start). With --demo,
    replays fixtures/demo.jsonl and prints a sign-in for the board. Restarts a process that
    dies; stops everything, leaving no process behind, on Ctrl-C or SIGTERM (exit 0) or when
    one crash-loops (exit 1).
    """
    from rules.loader import RuleError
    from tripwatch.embedded import ServiceError
    from tripwatch.supervisor import run_up

    if demo and scenario is None:
        scenario = DEMO_SCENARIO
    if speed is None:
        speed = DEMO_SPEED if demo else 1.0
    try:
        code = run_up(command_settings(ctx), scenario, speed, demo=demo)
    except ServiceError as error:
        raise click.ClickException(str(error)) from None
    except RuleError as error:
        raise click.ClickException(f"rules refused:\n{error}") from None
    sys.exit(code)


@main.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run one faust worker: detection over the input topics (scale out by running more)."""
    from monitor.worker import run_worker
    from rules.loader import RuleError

    try:
        run_worker(command_settings(ctx))
    except RuleError as error:
        raise click.ClickException(f"rules refused:\n{error}") from None


@main.command()
@click.pass_context
def dashboard(ctx: click.Context) -> None:
    """Serve the incident board on TRIPWATCH_DASHBOARD_HOST:TRIPWATCH_DASHBOARD_PORT."""
    from dashboard.main import run_dashboard

    run_dashboard(command_settings(ctx))


@main.command()
@click.pass_context
def outreach(ctx: click.Context) -> None:
    """Run outreach: passenger messages, cases, paging and inbound replies (docs/outreach.md)."""
    from notifiers.process import run_outreach

    run_outreach(command_settings(ctx))


@main.command()
@click.argument("scenario", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--speed", default=1.0, show_default=True, help="Replay pace: 2 = twice as fast, 0 = at once.")
@click.pass_context
def replay(ctx: click.Context, scenario: Path, speed: float) -> None:
    """Produce a scenario's events to the broker, keyed by order_id, times shifted to now."""
    from tools.replay import replay_file
    from tools.scenario import ScenarioError

    if speed < 0:
        raise click.BadParameter("must be 0 (at once) or more", param_hint="--speed")
    try:
        count = asyncio.run(replay_file(command_settings(ctx), scenario, speed))
    except ScenarioError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"replayed {count} events from {scenario}")


@main.command()
@click.option("--trips", type=click.IntRange(1), default=100, show_default=True, help="How many trips.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same file, byte for byte.")
@click.option(
    "--rates",
    help="Share of trips per case, `kind=p,...` (e.g. `sos=0.1,reroute=0.05`); `incidents=p` and "
    "`negatives=p` set a whole group. Cases: the 13 incident kinds and the hard negatives "
    "(see docs/scenarios.md); cases not listed get none. Default 0.04 each; the rest are normal trips.",
)
@click.option(
    "--sim-config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON or TOML file of simulator settings (trips, seed, window_s, rates, timing, magnitudes); "
    "the options above override it.",
)
@click.option("--window", type=float, help="Trips start spread over this many seconds (default 240).")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the scenario file here."
)
@click.option("--live", is_flag=True, help="Produce to the broker at real pace instead of writing a file.")
@click.option(
    "--complaints",
    is_flag=True,
    help="Passengers who notice an incident contact support (support-contacts), after a delay that "
    "depends on the kind, less often when we messaged them first (docs/scenarios.md).",
)
@click.option(
    "--eps",
    type=click.FloatRange(min=0.1),
    default=200.0,
    show_default=True,
    help="With --live: target events per second once trips are under way.",
)
@click.pass_context
def simulate(
    ctx: click.Context,
    trips: int,
    seed: int,
    rates: str | None,
    sim_config: Path | None,
    window: float | None,
    output: Path | None,
    live: bool,
    complaints: bool,
    eps: float,
) -> None:
    """Generate a synthetic city's trips, with labelled incidents and hard negatives.

    Writes a scenario file (JSON Lines, docs/scenarios.md) for `tripwatch replay` and
    `tripwatch evaluate`, or with --live produces the events to the broker now.
    """
    from tools.simulator.command import build_config, run_simulate
    from tools.simulator.config import ConfigError

    if not live and output is None:
        raise click.UsageError("say where to write the scenario (--output FILE) or use --live")
    try:
        config = build_config(sim_config, trips, seed, rates, window, ctx.get_parameter_source, complaints)
    except ConfigError as error:
        raise click.ClickException(f"bad simulator setting: {error}") from None
    click.echo(run_simulate(config, output, command_settings(ctx) if live else None, eps))


@main.command()
@click.argument("scenario", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    default=15.0,
    show_default=True,
    help="Seconds to wait after the last event for deadlines to fire and the worker to catch up.",
)
@click.option(
    "--no-worker", is_flag=True, help="Do not start a worker: one already consumes the configured broker."
)
@click.option(
    "--rules",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Rule directory for the worker it starts (default: TRIPWATCH_RULES_DIR).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the figures as JSON to this file.",
)
@click.option(
    "--require",
    type=click.FloatRange(0, 1),
    help="Exit with status 1 if any kind's precision or recall is below this (e.g. 0.97).",
)
@click.option(
    "--told-first",
    "told_first_bar",
    type=click.FloatRange(0, 1),
    default=0.95,
    show_default=True,
    help="With support contacts in the scenario: exit with status 1 if a kind whose passengers were "
    "messaged has a told-first share below this.",
)
@click.pass_context
def evaluate(
    ctx: click.Context,
    scenario: Path,
    settle: float,
    no_worker: bool,
    rules: Path | None,
    json_path: Path | None,
    require: float | None,
    told_first_bar: float,
) -> None:
    """Run detection over a scenario through the real broker and score it against its labels.

    Replays the scenario at real pace (rule thresholds are real seconds) with its ids
    prefixed by a fresh run id, reads the incidents back from Redis, and prints per kind:
    true and false positives, misses, precision, recall, and time to detect (median and
    p95, event time from each label's onset); then what the hard negatives raised.
    With no TRIPWATCH_KAFKA_URL / TRIPWATCH_REDIS_URL it starts its own embedded broker (with
    enough partitions that none gets over 6,000 events: see docs/scenarios.md) and Redis on
    free ports; unless --no-worker it starts a worker with its own app id.

    A scenario with support contacts (`simulate --complaints`) also needs outreach: unless
    --no-worker it starts `tripwatch outreach` delivering to the demo's stand-in phone network,
    and prints per kind the told-first share (incidents that drew a contact where our first
    message came before it), lead time p50/p90 (our message -> their contact) and contacts per
    incident; a contact is left out when the simulated passenger heard from us first.
    """
    from tools.evaluate import RunOptions, evaluate_file
    from tools.scenario import ScenarioError
    from tripwatch.embedded import start_missing

    settings = command_settings(ctx)
    if no_worker and (settings.embedded_kafka or settings.embedded_redis):
        raise click.UsageError("--no-worker needs TRIPWATCH_KAFKA_URL and TRIPWATCH_REDIS_URL")
    if rules is not None:
        settings = settings.replace(rules_dir=rules)
    options = RunOptions(settle_s=settle, start_worker=not no_worker, told_first_bar=told_first_bar)
    try:
        text, report = evaluate_file(settings, scenario, options, start_missing, json_path)
    except ScenarioError as error:
        raise click.ClickException(str(error)) from None
    click.echo(text)
    if require is not None and not report.meets(require):
        sys.exit(1)
    if report.told_first is not None and report.told_first.failing():
        click.echo(
            f"told first below {told_first_bar:.0%}: {', '.join(report.told_first.failing())}", err=True
        )
        sys.exit(1)


@main.command()
@click.pass_context
def sandbox(ctx: click.Context) -> None:
    """Demo only: a local stand-in for the phone network (Twilio and FCM wire formats) with an
    inbox page of what passengers received, on TRIPWATCH_SANDBOX_PORT. `up --demo` starts it."""
    from notifiers.sandbox import run_sandbox

    settings = command_settings(ctx)
    run_sandbox(settings.embedded_host, settings.sandbox_port)


@main.command()
@click.pass_context
def topics(ctx: click.Context) -> None:
    """Create Tripwatch's topics with the configured partition count (idempotent)."""
    from monitor.topics import ensure_topics

    asyncio.run(ensure_topics(command_settings(ctx)))
    click.echo("topics ready")


main.add_command(users_command)

main.add_command(rules_group)  # `tripwatch rules ...` (tripwatch/rules_commands.py)


if __name__ == "__main__":
    main()
