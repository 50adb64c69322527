"""The settings of a command, loaded when it runs (so `--help` works whatever they say)."""

from __future__ import annotations

import logging

import click

from core.settings import Settings, SettingsError, load_settings


def command_settings(ctx: click.Context) -> Settings:
    """The settings named by `tripwatch --config` and the environment; logging set to their level."""
    try:
        settings = load_settings(ctx.obj["config"] if ctx.obj else None)
    except SettingsError as error:
        raise click.ClickException(f"bad setting: {error}") from None
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return settings
