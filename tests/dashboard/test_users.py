"""Users: argon2 hashes in Redis, and the `tripwatch users` commands."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import orjson
import pytest
import redis.asyncio as aioredis
from click.testing import CliRunner, Result

from core import names
from dashboard.users import UserError, UserStore
from tripwatch.cli import main


@pytest.fixture
async def store(settings):
    client = aioredis.from_url(settings.redis_dsn)
    yield UserStore(client), client
    await client.aclose()


async def test_passwords_are_argon2_hashes_and_verify(store):
    users, redis = store
    name = f"u-{uuid.uuid4().hex[:6]}"
    await users.add(name, "s3cret-enough", "supervisor")
    raw = orjson.loads(await redis.hget(names.USERS, name))
    assert raw["password_hash"].startswith("$argon2id$") and "s3cret-enough" not in raw["password_hash"]
    assert (await users.verify(name, "s3cret-enough")).role == "supervisor"
    assert await users.verify(name, "wrong-password") is None
    assert await users.verify("nobody-" + name, "s3cret-enough") is None
    await users.set_password(name, "another-secret")
    assert await users.verify(name, "s3cret-enough") is None
    assert await users.verify(name, "another-secret") is not None
    assert await users.remove(name)


@pytest.mark.parametrize(
    ("name", "password", "role", "error"),
    [
        ("ok", "short", "viewer", "at least"),
        ("ok", "long-enough", "boss", "role"),
        ("a b", "long-enough", "viewer", "name"),
    ],
)
async def test_bad_users_are_refused(store, name, password, role, error):
    users, _ = store
    with pytest.raises(UserError, match=error):
        await users.add(name, password, role)


def cli(settings, *args: str, stdin: str | None = None) -> Result:
    """`tripwatch users ...` in-process, with the session's settings in the environment."""
    return CliRunner().invoke(main, ["users", *args], input=stdin, env=settings.as_environment())


def test_users_command_line(settings, redis_client):
    name = f"cli-{uuid.uuid4().hex[:6]}"
    added = cli(settings, "add", name, "--role", "admin", stdin="pass-word-1\npass-word-1\n")
    assert added.exit_code == 0, added.output
    again = cli(settings, "add", name, "--password", "pass-word-1")
    assert again.exit_code != 0 and "exists already" in again.output
    listed = cli(settings, "list", "--json")
    mine = [orjson.loads(line) for line in listed.output.splitlines() if name in line]
    assert mine == [{"name": name, "role": "admin", "created_at": mine[0]["created_at"]}]
    assert "argon2" not in listed.output
    assert cli(settings, "passwd", name, "--password", "pass-word-2").exit_code == 0
    assert cli(settings, "remove", name).exit_code == 0
    assert cli(settings, "remove", name).exit_code != 0
    audit = [orjson.loads(raw) for raw in redis_client.lrange(names.AUDIT, 0, 50)]
    assert {("user.add", f"{name} as admin"), ("user.passwd", name), ("user.remove", name)} <= {
        (a["action"], a["text"]) for a in audit
    }


def test_users_command_is_installed(settings):
    """The real entry point: `python -m tripwatch.cli users list`."""
    env = dict(os.environ) | settings.as_environment()
    listed = subprocess.run(
        [sys.executable, "-m", "tripwatch.cli", "users", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
