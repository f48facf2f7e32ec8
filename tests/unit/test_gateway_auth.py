"""The bearer-token auth flow's 401 path (a server rejecting a token it issued cannot be produced on
demand with the real servers): one refresh, one retry, and the reason kept when there is no token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import httpx2
import pytest

from docker_mcp.gateway.auth import BearerToken
from docker_mcp.oauth.errors import NotAuthorizedError
from docker_mcp.oauth.tokens import Token


class FakeRefresher:
    margin = 60

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[Token | None] = []
        self.fail = fail

    def token(self, server: str, rejected: Token | None = None) -> Token:
        self.calls.append(rejected)
        if self.fail:
            raise NotAuthorizedError(f"{server} is not authorized: run 'docker mcp oauth authorize {server}'")
        return Token(f"token-{len(self.calls)}", expiry=datetime.now(UTC) + timedelta(hours=1))


def test_a_401_gets_one_refresh_and_one_retry():
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["Authorization"])
        return httpx2.Response(401 if len(seen) == 1 else 200)

    refresher = FakeRefresher()

    async def main() -> int:
        async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler), auth=BearerToken(refresher, "s")) as c:
            first = (await c.post("http://mcp.example/mcp", content=b"{}")).status_code
            second = (await c.post("http://mcp.example/mcp", content=b"{}")).status_code
            return first + second

    assert anyio.run(main) == 400
    assert seen == ["Bearer token-1", "Bearer token-2", "Bearer token-2"]  # the refreshed token is kept
    assert [c.access_token if c else None for c in refresher.calls] == [None, "token-1"]


def test_the_reason_there_is_no_token_is_kept():
    auth = BearerToken(FakeRefresher(fail=True), "s")

    async def main() -> None:
        async with httpx2.AsyncClient(transport=httpx2.MockTransport(lambda r: httpx2.Response(200)), auth=auth) as c:
            await c.get("http://mcp.example/mcp")

    with pytest.raises(NotAuthorizedError):
        anyio.run(main)
    assert str(auth.failure) == "s is not authorized: run 'docker mcp oauth authorize s'"
