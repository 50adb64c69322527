"""`tripwatch users add|remove|list|passwd`: manage the board's users."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
import msgspec
import redis.asyncio as aioredis

from core.incident_store import queue_audit
from core.settings import Settings, SettingsError, load_settings
from core.supervision import AuditEntry
from dashboard.users import ROLES, UserError, UserStore

T = TypeVar("T")


def _run(ctx: click.Context, work: Callable[[UserStore, aioredis.Redis], Awaitable[T]]) -> T:
    try:
        settings: Settings = load_settings(ctx.obj["config"] if ctx.obj else None)
    except SettingsError as error:
        raise click.ClickException(f"bad setting: {error}") from None

    async def go() -> T:
        redis = aioredis.from_url(settings.redis_dsn)
        try:
            return await work(UserStore(redis), redis)
        finally:
            await redis.aclose()

    try:
        return asyncio.run(go())
    except UserError as error:
        raise click.ClickException(str(error)) from None
    except (aioredis.ConnectionError, OSError) as error:
        raise click.ClickException(f"cannot reach Redis at {settings.redis_dsn}: {error}") from None


async def _audit(redis: aioredis.Redis, action: str, text: str) -> None:
    entry = AuditEntry(at=int(time.time() * 1000), actor="cli", role="admin", action=action, text=text)
    async with redis.pipeline(transaction=True) as pipe:
        queue_audit(pipe, entry)
        await pipe.execute()


@click.group()
def users() -> None:
    """Manage the board's users (argon2-hashed passwords, roles viewer/supervisor/admin)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.password_option(help="The password (asked for when not given).")
@click.pass_context
def add(ctx: click.Context, name: str, role: str, password: str) -> None:
    """Add a user."""

    async def work(store: UserStore, redis: aioredis.Redis) -> None:
        await store.add(name, password, role)
        await _audit(redis, "user.add", f"{name} as {role}")

    _run(ctx, work)
    click.echo(f"added {name} ({role})")


@users.command("remove")
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Remove a user (their sessions end when they expire)."""

    async def work(store: UserStore, redis: aioredis.Redis) -> bool:
        removed = await store.remove(name)
        if removed:
            await _audit(redis, "user.remove", name)
        return removed

    if not _run(ctx, work):
        raise click.ClickException(f"no user {name!r}")
    click.echo(f"removed {name}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per user (no hashes).")
@click.pass_context
def list_users(ctx: click.Context, as_json: bool) -> None:
    """List the users and their roles."""

    async def work(store: UserStore, _redis: aioredis.Redis) -> list:
        return await store.all()

    for user in _run(ctx, work):
        if as_json:
            listed = {"name": user.name, "role": user.role, "created_at": user.created_at}
            click.echo(msgspec.json.encode(listed))
        else:
            click.echo(f"{user.name}\t{user.role}")


@users.command("passwd")
@click.argument("name")
@click.password_option(help="The new password (asked for when not given).")
@click.pass_context
def passwd(ctx: click.Context, name: str, password: str) -> None:
    """Set a user's password."""

    async def work(store: UserStore, redis: aioredis.Redis) -> None:
        await store.set_password(name, password)
        await _audit(redis, "user.passwd", name)

    _run(ctx, work)
    click.echo(f"password of {name} changed")
