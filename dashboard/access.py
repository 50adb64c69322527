"""Who may do what on the board: sessions in Redis, sign-in throttling, the role policy."""

from __future__ import annotations

import hmac
import secrets

import msgspec
import redis.asyncio as aioredis

from monitor import names

COOKIE = "tw_session"
ACTING_ROLES = frozenset({"supervisor", "admin"})
PHONE_ROLES = frozenset({"supervisor", "admin"})


class Session(msgspec.Struct, kw_only=True, frozen=True):
    token: str
    user: str
    role: str
    csrf: str
    created_at: int

    @property
    def can_act(self) -> bool:
        return self.role in ACTING_ROLES

    @property
    def can_see_phones(self) -> bool:
        return self.role in PHONE_ROLES

    def csrf_matches(self, candidate: str | None) -> bool:
        return candidate is not None and hmac.compare_digest(self.csrf, candidate)


class SessionStore:
    def __init__(self, redis: aioredis.Redis, ttl_s: int) -> None:
        self._redis = redis
        self._ttl_s = ttl_s

    async def create(self, user: str, role: str, now_ms: int) -> Session:
        session = Session(
            token=secrets.token_urlsafe(32),
            user=user,
            role=role,
            csrf=secrets.token_urlsafe(32),
            created_at=now_ms,
        )
        await self._redis.set(names.SESSION + session.token, msgspec.json.encode(session), ex=self._ttl_s)
        return session

    async def get(self, token: str | None) -> Session | None:
        if not token or len(token) > 100:
            return None
        raw = await self._redis.get(names.SESSION + token)
        return msgspec.json.decode(raw, type=Session) if raw else None

    async def drop(self, token: str) -> None:
        await self._redis.delete(names.SESSION + token)


class SigninThrottle:
    """Failed sign-ins counted per user name and per address; too many and both are refused."""

    def __init__(self, redis: aioredis.Redis, max_failures: int, window_s: int) -> None:
        self._redis = redis
        self._max = max_failures
        self._window_s = window_s

    async def blocked(self, user: str, address: str) -> bool:
        counts = await self._redis.mget(self._keys(user, address))
        return any(int(count or 0) >= self._max for count in counts)

    async def failed(self, user: str, address: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in self._keys(user, address):
                pipe.incr(key)
                pipe.expire(key, self._window_s, nx=True)
            await pipe.execute()

    async def succeeded(self, user: str) -> None:
        await self._redis.delete(names.SIGNIN_FAILURES + "user:" + user)

    @staticmethod
    def _keys(user: str, address: str) -> list[str]:
        return [names.SIGNIN_FAILURES + "user:" + user[:64], names.SIGNIN_FAILURES + "ip:" + address]
