"""Who may do what on the board: sessions in Redis, sign-in throttling, the role policy."""

from __future__ import annotations

import hmac
import secrets

import msgspec
import redis.asyncio as aioredis

from core import names

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


# Count one attempt on every key and say whether any is over its limit, in one step:
# concurrent sign-ins cannot all slip past a check made before the slow password hash.
_ATTEMPT = """
local over = 0
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[1]) end
  if count > tonumber(ARGV[i + 1]) then over = 1 end
end
return over
"""
_FORGIVE = """
redis.call('DEL', KEYS[1])
if (tonumber(redis.call('GET', KEYS[2]) or '0')) > 0 then redis.call('DECR', KEYS[2]) end
"""
ADDRESS_FACTOR = 4  # one address may try several names (a shared office) before it is held back


class SigninThrottle:
    """Sign-in attempts counted per (user name, address) and per address, atomically.

    An attempt is counted before the password is checked and forgiven when it succeeds, so
    concurrent guesses cannot outrun the count. The lockout is per user *and* address: a
    stranger elsewhere cannot lock a supervisor out by failing with their name.
    """

    def __init__(self, redis: aioredis.Redis, max_failures: int, window_s: int) -> None:
        self._redis = redis
        self._max = max_failures
        self._window_s = window_s
        self._attempt = redis.register_script(_ATTEMPT)
        self._forgive = redis.register_script(_FORGIVE)

    async def attempt(self, user: str, address: str) -> bool:
        """Count an attempt; False when this user from this address (or the address) is held back."""
        limits = (self._max, self._max * ADDRESS_FACTOR)
        over = await self._attempt(keys=self._keys(user, address), args=[self._window_s, *limits])
        return not over

    async def succeeded(self, user: str, address: str) -> None:
        """A right password forgives this attempt and the pair's failures."""
        await self._forgive(keys=self._keys(user, address))

    @staticmethod
    def _keys(user: str, address: str) -> list[str]:
        return [
            names.SIGNIN_FAILURES + f"user:{user[:64]}@{address}",
            names.SIGNIN_FAILURES + "ip:" + address,
        ]
