"""The work behind `tripwatch simulate`: build the config from options, write or produce."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.settings import Settings
from tools.simulator.config import SimConfig, load_config, parse_rates
from tools.simulator.scenario_file import generate, write_scenario


def build_config(
    config_file: Path | None,
    trips: int,
    seed: int,
    rates: str | None,
    window: float | None,
    source_of: Callable[[str], Any] | None = None,
) -> SimConfig:
    """The file's config (or the defaults), with the options given on the command line on top.

    `source_of(name)` tells whether an option was typed (click's parameter source); options
    left at their defaults do not override the file.
    """
    config = load_config(config_file) if config_file else SimConfig()
    typed = _typed(source_of, config_file is None)
    if typed("trips"):
        config = replace(config, trips=trips)
    if typed("seed"):
        config = replace(config, seed=seed)
    if window is not None:
        config = replace(config, window_s=window)
    if rates:
        config = config.with_rates(parse_rates(rates), replace_all=True)
    return config


def _typed(source_of: Callable[[str], Any] | None, no_file: bool) -> Callable[[str], bool]:
    def typed(name: str) -> bool:
        if no_file or source_of is None:
            return True
        source = source_of(name)
        return source is not None and source.name == "COMMANDLINE"

    return typed


def run_simulate(config: SimConfig, output: Path | None, settings: Settings | None, eps: float) -> str:
    """Write the scenario to `output`, or (with settings) produce it live; says what it did."""
    if settings is not None:
        from tools.simulator.live import produce_live

        count, seconds = asyncio.run(produce_live(settings, config, eps))
        return f"produced {count} events of {config.trips} trips in {seconds:.0f} s ({count / seconds:.0f}/s)"
    assert output is not None  # the command line checks it
    scenario = generate(config)
    events = write_scenario(scenario, output)
    return (
        f"wrote {output}: {config.trips} trips, {events} events, {len(scenario.labels)} labelled incidents, "
        f"{len(scenario.negatives)} hard negatives, {scenario.deliveries[-1].at:.0f} s long"
    )
