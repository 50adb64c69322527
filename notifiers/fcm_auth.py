"""FCM's OAuth2 access token: from a service-account key, refreshed before it expires.

google-auth does the service-account flow: it signs a JWT with the key's private key and
POSTs it to the key file's `token_uri`; the answer is an access token good for about an hour.
`credentials.valid` turns False a few minutes before expiry (google-auth's refresh threshold),
so a token is refreshed before FCM would refuse it. google-auth's own transports need
`requests` or `urllib3`; the small stdlib one here (run in a thread, one refresh at a time) keeps
the dependency to google-auth alone.

Without a key file, the fixed `fcm_access_token` setting is used as it is (tests, staging).
"""

from __future__ import annotations

import asyncio
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from google.auth import exceptions, transport
from google.oauth2 import service_account

from core.settings import Settings

log = logging.getLogger(__name__)

SCOPES = ("https://www.googleapis.com/auth/firebase.messaging",)


class TokenSource:
    """The bearer token to send now; `stale()` after FCM said 401 forces the next refresh."""

    def __init__(self, settings: Settings) -> None:
        self.fixed = settings.fcm_access_token.get_secret_value()
        self.key_file = settings.fcm_service_account_file
        self.timeout_s = settings.outreach_http_timeout_s
        self._credentials: service_account.Credentials | None = None
        self._lock = asyncio.Lock()

    @property
    def refreshes(self) -> bool:
        return bool(self.key_file)

    async def token(self) -> str:
        """Raises `exceptions.GoogleAuthError` (or OSError) when no token can be had."""
        if not self.key_file:
            return self.fixed
        async with self._lock:  # concurrent senders wait for one refresh
            credentials = self._credentials or self._load()
            if not credentials.valid:  # absent, expired, or within the refresh threshold
                await asyncio.to_thread(credentials.refresh, _StdlibRequest(self.timeout_s))
                log.info("FCM access token refreshed, valid until %s UTC", credentials.expiry)
            return str(credentials.token)

    def stale(self) -> None:
        if self._credentials is not None:
            self._credentials.token = None

    def _load(self) -> service_account.Credentials:
        self._credentials = service_account.Credentials.from_service_account_file(
            self.key_file, scopes=SCOPES
        )
        return self._credentials


class _Response(transport.Response):
    def __init__(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        self._status, self._headers, self._data = status, dict(headers), data

    @property
    def status(self) -> int:
        return self._status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers

    @property
    def data(self) -> bytes:
        return self._data


class _StdlibRequest(transport.Request):
    """google-auth's transport interface over urllib (http and https)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _Response:
        request = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout_s) as answer:  # noqa: S310
                return _Response(answer.status, answer.headers, answer.read())
        except urllib.error.HTTPError as error:  # the token endpoint's error body is the answer
            return _Response(error.code, error.headers, error.read())
        except (OSError, ValueError) as error:
            raise exceptions.TransportError(f"{type(error).__name__}: {error}") from error
