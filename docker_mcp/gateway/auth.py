"""The bearer token a remote server's requests carry: from the token store (or Docker Desktop), refreshed
before expiry and once after a 401 (an httpx2 auth flow, so every request of the SDK's transports goes through it)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import anyio.to_thread
import httpx2

from ..oauth.tokens import Token, TokenSource


class BearerToken(httpx2.Auth):
    def __init__(self, refresher: TokenSource, server: str) -> None:
        self.refresher = refresher
        self.server = server
        self._token: Token | None = None
        self._lock = anyio.Lock()
        self.failure: Exception | None = None  # why the last token could not be had (the transport hides it)

    async def _current(self, rejected: Token | None = None) -> Token:
        async with self._lock:
            token = self._token
            if rejected is not None or token is None or token.refresh_due(self.refresher.margin):
                # the token store and the refresh request block: keep them off the event loop
                try:
                    token = await anyio.to_thread.run_sync(self.refresher.token, self.server, rejected)
                except Exception as e:
                    self.failure = e
                    raise
                self._token, self.failure = token, None
            return token

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        token = await self._current()
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        response = yield request
        if response.status_code == 401:
            await response.aread()
            token = await self._current(rejected=token)
            request.headers["Authorization"] = f"Bearer {token.access_token}"
            yield request

    def sync_auth_flow(self, request: Any) -> Any:  # the gateway only uses async clients
        raise NotImplementedError("BearerToken is for async clients")
