"""The remote MCP server of tests/servers/mcp_remote.py, checked with the MCP SDK's own client: the OAuth
protection (RFC 9728 metadata, 401 with resource_metadata, introspection at oidc-provider: audience, scope,
expiry, revocation), the tools, prompt and resource, the SSE variant, and the injected faults."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx2
import pytest
import requests
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import TextContent

from tests.helpers.oidc import OidcServer, resource_server_client, start_oidc, token_request
from tests.servers.mcp_remote import SLOW_TOOL_SECONDS, RemoteMcpServer, fingerprint

REDIRECT_URI = "http://127.0.0.1:9/callback"  # never called: get_tokens stops at the redirect
OTHER_RESOURCE = "http://127.0.0.1:9/other-mcp"
APP_SECRET = "app-secret-for-remote-mcp-tests"
RS_SECRET = "rs-secret-for-remote-mcp-tests"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw-http", "version": "0"},
    },
}

APP_CLIENT: dict[str, Any] = {
    "client_id": "app",
    "client_secret": APP_SECRET,
    "token_endpoint_auth_method": "client_secret_post",
    "redirect_uris": [REDIRECT_URI],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "scope": "mcp:tools offline_access",
}
RS_CLIENT = resource_server_client(secret=RS_SECRET)


# --- helpers ------------------------------------------------------------------------------------------


def raw_post(url: str, token: str | None = None, body: dict[str, Any] | None = None) -> requests.Response:
    """One MCP POST by hand (an initialize), to look at the HTTP answer itself."""
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(url, json=body or INITIALIZE, headers=headers, timeout=10)


Session = Callable[[ClientSession], Awaitable[Any]]


def with_session(url: str, work: Session, *, token: str | None = None, sse: bool = False) -> Any:
    """Connect with the SDK client (streamable HTTP or SSE), initialize, run work(session); returns its
    result, or the MCPError raised on the way (initialize included)."""

    async def main() -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if sse:
            async with sse_client(url, headers=headers) as (read, write), ClientSession(read, write) as session:
                try:
                    await session.initialize()
                    return await work(session)
                except MCPError as exc:
                    return exc
        async with (
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60)) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            try:
                await session.initialize()
                return await work(session)
            except MCPError as exc:
                return exc

    return anyio.run(main)


def text_of(result: Any) -> str:
    assert not result.is_error, result
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


async def tour(session: ClientSession) -> dict[str, Any]:
    """Everything the server offers, once."""
    tools = await session.list_tools()
    prompts = await session.list_prompts()
    resources = await session.list_resources()
    echo = await session.call_tool("remote_echo", {"text": "hello remote"})
    added = await session.call_tool("remote_add", {"a": 2, "b": 3})
    whoami = await session.call_tool("remote_whoami", {})
    prompt = await session.get_prompt("remote_greeting", {"name": "Ada"})
    info = await session.read_resource("remote://info")
    return {
        "server": session.server_info.name if session.server_info else None,
        "tools": sorted(tool.name for tool in tools.tools),
        "prompts": [p.name for p in prompts.prompts],
        "resources": [str(r.uri) for r in resources.resources],
        "echo": text_of(echo),
        "add": text_of(added),
        "whoami": whoami.structured_content,
        "prompt": prompt.messages[0].content.text,  # type: ignore[union-attr]
        "info": info.contents[0].text,  # type: ignore[union-attr]
    }


async def initialize_only(session: ClientSession) -> str:
    return "initialized"


@dataclass
class Protected:
    oidc: OidcServer
    server: RemoteMcpServer  # required_scopes ("mcp:tools",)
    strict: RemoteMcpServer  # required_scopes ("mcp:tools", "mcp:admin")
    sse: RemoteMcpServer  # transport "sse"

    def token(self, resource: str | None = None) -> str:
        tokens = self.oidc.get_tokens(APP_CLIENT, scope="mcp:tools", resource=resource or self.server.resource)
        return str(tokens["access_token"])


@pytest.fixture(scope="module")
def protected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Protected]:
    """oidc-provider and two protected servers (the ports are reserved first, so the provider knows the
    resources before the servers know the issuer)."""
    server = RemoteMcpServer(auth="oidc")
    strict = RemoteMcpServer(auth="oidc", required_scopes=("mcp:tools", "mcp:admin"))
    sse = RemoteMcpServer(auth="oidc", transport="sse")
    config = {
        "clients": [APP_CLIENT, RS_CLIENT],
        "resource": [server.resource, strict.resource, sse.resource, OTHER_RESOURCE],
        "scopes": ["mcp:admin"],
    }
    with start_oidc(tmp_path_factory.mktemp("oidc"), config) as oidc:
        for each in (server, strict, sse):
            each.issuer = oidc.issuer
            each.introspection_client = RS_CLIENT
        with server, strict, sse:
            yield Protected(oidc, server, strict, sse)


# --- OAuth protection ---------------------------------------------------------------------------------


def test_unauthenticated_request_gets_401_with_resource_metadata(protected: Protected) -> None:
    server = protected.server
    assert server.url == f"http://127.0.0.1:{server.port}/mcp" == server.resource
    before = len(server.requests)

    response = raw_post(server.url)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{server.resource_metadata_url}"' in challenge
    assert 'error="invalid_token"' in challenge
    assert response.json()["error"] == "invalid_token"

    # a token the authorization server never issued: the same answer
    bogus = raw_post(server.url, token="not-a-real-token")
    assert bogus.status_code == 401
    assert "resource_metadata=" in bogus.headers["WWW-Authenticate"]

    # the SDK client without a token: initialize fails
    error = with_session(server.url, initialize_only)
    assert isinstance(error, MCPError)

    log = server.requests.snapshot()[before:]
    assert [(r.method, r.path, r.auth, r.status, r.error) for r in log[:2]] == [
        ("POST", "/mcp", None, 401, "invalid_token"),
        ("POST", "/mcp", "Bearer", 401, "invalid_token"),
    ]
    assert "not-a-real-token" not in repr(log)
    assert fingerprint("not-a-real-token") not in server.token_fingerprints


def test_protected_resource_metadata_document(protected: Protected) -> None:
    server, oidc = protected.server, protected.oidc
    assert server.resource_metadata_url == f"{server.base_url}/.well-known/oauth-protected-resource/mcp"
    response = requests.get(server.resource_metadata_url, timeout=10)
    assert response.status_code == 200
    document = response.json()
    assert document["resource"] == server.resource
    assert document["authorization_servers"] == [oidc.issuer]  # no trailing slash added
    assert document["scopes_supported"] == ["mcp:tools"]
    assert document["bearer_methods_supported"] == ["header"]
    strict = requests.get(protected.strict.resource_metadata_url, timeout=10).json()
    assert strict["scopes_supported"] == ["mcp:tools", "mcp:admin"]


def test_token_from_oidc_provider_initializes_lists_and_calls(protected: Protected) -> None:
    server, oidc = protected.server, protected.oidc
    token = protected.token()
    introspections_before = oidc.count("/token/introspection")
    seen_before = server.tokens_seen

    result = with_session(server.url, tour, token=token)

    assert not isinstance(result, MCPError), result
    assert result["server"] == "remote-mcp"
    assert result["tools"] == ["remote_add", "remote_echo", "remote_whoami"]
    assert result["prompts"] == ["remote_greeting"]
    assert result["resources"] == ["remote://info"]
    assert result["echo"] == "hello remote"
    assert result["add"] == "5"
    assert result["whoami"]["sub"] == "alice"
    assert result["whoami"]["client_id"] == "app"
    assert "mcp:tools" in result["whoami"]["scopes"]
    assert result["whoami"]["aud"] == server.resource
    assert result["prompt"] == "Hello, Ada!"
    assert '"auth": "oidc"' in result["info"]

    # one distinct token, kept as a fingerprint only
    assert server.tokens_seen == seen_before + 1
    assert fingerprint(token) in server.token_fingerprints
    assert token not in repr(server.token_fingerprints)
    # every MCP request was introspected, as the resource server (client_secret_basic)
    introspections = [e for e in oidc.requests() if e["path"] == "/token/introspection"]
    assert len(introspections) - introspections_before >= 8
    assert all(e["auth_scheme"] == "Basic" and e["status"] == 200 for e in introspections)
    # the request log: bearer requests, no token value
    mcp_requests = [r for r in server.requests if r.path == "/mcp" and r.status < 400]
    assert mcp_requests and all(r.auth == "Bearer" for r in mcp_requests)
    assert token not in repr(server.requests.snapshot())
    assert {"initialize", "tools/list", "tools/call", "prompts/get", "resources/read"} <= set(server.rpc_methods)


def test_token_for_another_resource_is_refused(protected: Protected) -> None:
    token = protected.token(resource=OTHER_RESOURCE)
    response = raw_post(protected.server.url, token=token)
    assert response.status_code == 401
    assert "resource_metadata=" in response.headers["WWW-Authenticate"]
    assert fingerprint(token) not in protected.server.token_fingerprints


def test_token_without_a_required_scope_gets_403(protected: Protected) -> None:
    strict = protected.strict
    token = protected.token(resource=strict.resource)  # mcp:tools only
    response = raw_post(strict.url, token=token)
    assert response.status_code == 403
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert f'resource_metadata="{strict.resource_metadata_url}"' in challenge
    assert strict.tokens_seen == 0


def test_revoked_token_gets_401(protected: Protected) -> None:
    server, oidc = protected.server, protected.oidc
    token = protected.token()
    assert raw_post(server.url, token=token).status_code == 200

    revoked = token_request(
        oidc.metadata()["revocation_endpoint"], APP_CLIENT, {"token": token, "token_type_hint": "access_token"}
    )
    assert revoked.status_code == 200, revoked.text

    response = raw_post(server.url, token=token)
    assert response.status_code == 401
    assert "resource_metadata=" in response.headers["WWW-Authenticate"]
    assert isinstance(with_session(server.url, initialize_only, token=token), MCPError)


def test_sse_transport_with_oidc_token(protected: Protected) -> None:
    sse = protected.sse
    assert sse.resource == sse.url == f"{sse.base_url}/sse"
    assert sse.resource_metadata_url == f"{sse.base_url}/.well-known/oauth-protected-resource/sse"
    unauthenticated = requests.get(sse.url, timeout=10)
    assert unauthenticated.status_code == 401
    assert f'resource_metadata="{sse.resource_metadata_url}"' in unauthenticated.headers["WWW-Authenticate"]
    assert requests.get(sse.resource_metadata_url, timeout=10).json()["resource"] == sse.resource

    token = protected.token(resource=sse.resource)
    result = with_session(sse.url, tour, token=token, sse=True)
    assert not isinstance(result, MCPError), result
    assert result["echo"] == "hello remote"
    assert result["whoami"]["sub"] == "alice"
    assert result["whoami"]["aud"] == sse.resource
    assert sse.tokens_seen == 1
    mcp_requests = [r for r in sse.requests if r.path in ("/sse", "/messages/") and r.status < 400]
    assert mcp_requests and all(r.auth == "Bearer" for r in mcp_requests)


def test_expired_token_gets_401(tmp_path: Path) -> None:
    server = RemoteMcpServer(auth="oidc", introspection_client=RS_CLIENT)
    config = {"clients": [APP_CLIENT, RS_CLIENT], "resource": server.resource, "accessTokenTTL": 2}
    with start_oidc(tmp_path, config) as oidc:
        server.issuer = oidc.issuer
        with server:
            tokens = oidc.get_tokens(APP_CLIENT, resource=server.resource)
            assert tokens["expires_in"] <= 2
            token = tokens["access_token"]
            assert with_session(server.url, initialize_only, token=token) == "initialized"
            time.sleep(tokens["expires_in"] + 1.0)
            response = raw_post(server.url, token=token)
            assert response.status_code == 401
            assert f'resource_metadata="{server.resource_metadata_url}"' in response.headers["WWW-Authenticate"]


# --- without auth: SSE, faults, restart -----------------------------------------------------------------


def test_sse_transport_without_auth() -> None:
    with RemoteMcpServer(auth=None, transport="sse") as server:
        assert server.url == f"http://127.0.0.1:{server.port}/sse"
        result = with_session(server.url, tour, sse=True)
        assert not isinstance(result, MCPError), result
        assert result["tools"] == ["remote_add", "remote_echo", "remote_whoami"]
        assert result["echo"] == "hello remote"
        assert result["whoami"] == {"sub": None, "client_id": None, "scopes": [], "aud": None}
        assert '"transport": "sse"' in result["info"]
        paths = {(r.method, r.path) for r in server.requests}
        assert ("GET", "/sse") in paths and ("POST", "/messages/") in paths
        # no auth: no RFC 9728 document
        assert requests.get(server.resource_metadata_url, timeout=10).status_code == 404


def test_tool_prefix_names_everything() -> None:
    with RemoteMcpServer(auth=None, tool_prefix="beta") as server:

        async def names(session: ClientSession) -> list[str]:
            tools = await session.list_tools()
            prompts = await session.list_prompts()
            resources = await session.list_resources()
            return sorted(
                [t.name for t in tools.tools]
                + [p.name for p in prompts.prompts]
                + [str(r.uri) for r in resources.resources]
            )

        assert with_session(server.url, names) == [
            "beta://info",
            "beta_add",
            "beta_echo",
            "beta_greeting",
            "beta_whoami",
        ]


def test_fault_500_answers_every_post_with_500() -> None:
    with RemoteMcpServer(auth=None, fault="500") as server:
        response = raw_post(server.url)
        assert response.status_code == 500
        error = with_session(server.url, initialize_only)
        assert isinstance(error, MCPError)
        posts = [r for r in server.requests if r.method == "POST"]
        assert len(posts) >= 2 and all(r.status == 500 for r in posts)


def test_fault_slow_tool_delays_echo_only() -> None:
    with RemoteMcpServer(auth=None, fault="slow-tool") as server:

        async def timed(session: ClientSession) -> tuple[float, float]:
            start = time.monotonic()
            await session.call_tool("remote_add", {"a": 1, "b": 1})
            fast = time.monotonic() - start
            start = time.monotonic()
            assert text_of(await session.call_tool("remote_echo", {"text": "late"})) == "late"
            return fast, time.monotonic() - start

        fast, slow = with_session(server.url, timed)
        assert fast < 1.0
        assert slow >= SLOW_TOOL_SECONDS


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
def test_stop_is_quick_with_a_stream_still_open(transport: Literal["streamable-http", "sse"]) -> None:
    server = RemoteMcpServer(auth=None, transport=transport).start()
    try:
        headers = {"Accept": "text/event-stream"}
        if transport == "streamable-http":
            init = raw_post(server.url)
            headers["Mcp-Session-Id"] = init.headers["Mcp-Session-Id"]
            raw_post(server.url, body={"jsonrpc": "2.0", "method": "notifications/initialized"}).close()
        stream = requests.get(server.url, headers=headers, stream=True, timeout=10)
        assert stream.status_code == 200
        start = time.monotonic()
    finally:
        server.stop()
    assert time.monotonic() - start < 1.5
    stream.close()


def test_stop_and_start_again_on_the_same_port() -> None:
    server = RemoteMcpServer(auth=None)
    url = server.url
    with server:
        assert with_session(url, initialize_only) == "initialized"
    with pytest.raises(requests.ConnectionError):
        raw_post(url)
    with server:
        assert server.url == url
        assert with_session(url, initialize_only) == "initialized"
    assert not server.running
