"""Board users in Redis: a name, a role and an argon2 hash of the password (argon2-cffi)."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Literal

import msgspec
import redis.asyncio as aioredis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core import names

Role = Literal["viewer", "supervisor", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "supervisor", "admin")
MIN_PASSWORD = 8
_HASHER = PasswordHasher()


class UserError(ValueError):
    """A user cannot be added or changed; the message says why."""


class User(msgspec.Struct, kw_only=True, frozen=True):
    name: str
    role: Role
    password_hash: str
    created_at: int


class UserStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def add(self, name: str, password: str, role: str) -> User:
        _check_name(name)
        _check_password(password)
        user = User(name=name, role=_role(role), password_hash=await _hash(password), created_at=_now_ms())
        if not await self._redis.hsetnx(names.USERS, name, msgspec.json.encode(user)):
            raise UserError(f"user {name!r} exists already")
        return user

    async def remove(self, name: str) -> bool:
        return bool(await self._redis.hdel(names.USERS, name))

    async def set_password(self, name: str, password: str) -> None:
        _check_password(password)
        user = await self.get(name)
        if user is None:
            raise UserError(f"no user {name!r}")
        updated = msgspec.structs.replace(user, password_hash=await _hash(password))
        await self._redis.hset(names.USERS, name, msgspec.json.encode(updated))

    async def get(self, name: str) -> User | None:
        raw = await self._redis.hget(names.USERS, name)
        return msgspec.json.decode(raw, type=User) if raw else None

    async def all(self) -> list[User]:
        raws = await self._redis.hvals(names.USERS)
        return sorted((msgspec.json.decode(raw, type=User) for raw in raws), key=lambda u: u.name)

    async def verify(self, name: str, password: str) -> User | None:
        """The user when the password is right, else None (in constant-ish time)."""
        user = await self.get(name)
        ok = await asyncio.to_thread(_verify, user.password_hash if user else _dummy_hash(), password)
        return user if ok and user is not None else None


@functools.cache
def _dummy_hash() -> str:
    """Verified when the name is unknown, so a wrong name costs as long as a wrong password."""
    return _HASHER.hash("tripwatch-no-such-user")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def _hash(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


def _role(role: str) -> Role:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)} (got {role!r})")
    return role  # type: ignore[return-value]


def _check_name(name: str) -> None:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise UserError("a user name is 1-64 letters, digits or . _ - @")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")


def _now_ms() -> int:
    return int(time.time() * 1000)
