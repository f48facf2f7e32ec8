"""The MCP 2025-03-26 fallback (Authorization, "Fallbacks for Servers without Metadata Discovery")
through the real docker CLI: a server with neither an RFC 9728 protected-resource document nor RFC 8414
/ OpenID metadata at its origin is authorized at `<origin>/authorize`, `<origin>/token` and
`<origin>/register`, with no issuer to check `iss` against. A protected-resource document that names an
authorization server without metadata stays an error. The conformance suite's
auth/2025-03-26-oauth-endpoint-fallback is the same case against the suite's server.

The server is a tests/servers/hostile.py server on 127.0.0.1 (every path it is not told about answers
404), whose authorization endpoint redirects at once with a code, as the suite's does."""

from __future__ import annotations

from typing import Any

from tests.e2e.oauth_support import OAuthUser, free_port, remote_entry
from tests.servers.hostile import HostileServer

SERVER = "legacy-app"
TOKEN = {"access_token": "legacy-access-token", "token_type": "Bearer", "expires_in": 3600}
WELL_KNOWN = "/.well-known/"


def authorize(user: OAuthUser) -> Any:
    return user.authorize(SERVER, free_port())  # the scripted browser follows the redirect to the callback


def legacy_server(server: HostileServer, **redirect: str) -> None:
    """A 2025-03-26 server: a bare 401 challenge, no metadata anywhere, the three default endpoints."""
    server.json("/mcp", {"error": "invalid_token"}, 401, {"WWW-Authenticate": "Bearer"})
    server.json("/register", {"client_id": "legacy-client", "token_endpoint_auth_method": "none"}, 201)
    server.authorization_endpoint(code="the-code", **redirect)
    server.json("/token", TOKEN)


def test_without_any_metadata_the_default_endpoints_at_the_origin_are_used(oauth_user):
    with HostileServer() as server:
        legacy_server(server, iss="https://evil.example.com")  # no issuer is known: nothing to compare
        oauth_user.import_server(remote_entry(SERVER, server.url("/mcp")))
        r = authorize(oauth_user)
        tried = [q.path for q in server.requests if q.path.startswith(WELL_KNOWN)]
        used = [q.path for q in server.requests if not q.path.startswith(WELL_KNOWN) and q.path != "/mcp"]
    assert r.returncode == 0, r.stdout + r.stderr
    assert tried == [  # every well-known URL was asked first (RFC 9728, then RFC 8414 and OpenID)
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ]
    assert used == ["/register", "/authorize", "/token"]
    assert f"No authorization server metadata for {server.url('/mcp')}: using the default endpoints" in r.stdout
    record, token = oauth_user.stored(SERVER)
    assert record.authorization_endpoint == server.url("/authorize") and record.token_endpoint == server.url("/token")
    assert record.authorization_server == server.base_url
    assert token.access_token == TOKEN["access_token"]


def test_a_pre_registered_client_without_endpoints_uses_them_too(oauth_user):
    with HostileServer() as server:
        legacy_server(server)
        oauth_user.import_server(remote_entry(SERVER, server.url("/mcp"), client_id="legacy-app"))
        r = authorize(oauth_user)
        assert server.received("/register") == []
        [request] = server.received("/authorize")
    assert r.returncode == 0, r.stdout + r.stderr
    assert request.query["client_id"] == "legacy-app"
    assert oauth_user.stored(SERVER)[1].access_token == TOKEN["access_token"]


def test_a_named_authorization_server_without_metadata_stays_an_error(oauth_user):
    """Only the absence of everything is the 2025-03-26 case: a document that names an authorization
    server promises its metadata."""
    with HostileServer() as server:
        legacy_server(server)
        server.protected_resource()  # names this server as its authorization server; no RFC 8414 metadata
        oauth_user.import_server(remote_entry(SERVER, server.url("/mcp")))
        r = authorize(oauth_user)
        used = [q.path for q in server.requests if q.path in ("/register", "/authorize", "/token")]
    assert r.returncode == 1, r.stdout + r.stderr
    [line] = [x for x in r.stderr.strip().splitlines() if not x.startswith("! ")]
    assert line.startswith(f"no authorization server metadata for {server.base_url} (tried "), line
    assert used == []
    assert oauth_user.stored(SERVER) == (None, None)


def test_a_named_document_that_is_missing_or_a_server_that_asked_for_nothing_is_not_the_2025_03_26_case(
    oauth_user,
):
    """The default endpoints need a 401 and the plain absence of every document: a challenge whose
    `resource_metadata` URL answers 404 names a document that may be elsewhere (its `resource` and its
    authorization server would be checked), and a server that answers without 401 asked for no
    authorization at all (a Desktop `server enable` of a public server must not find OAuth there)."""
    with HostileServer() as server:
        legacy_server(server)
        named = server.url("/.well-known/oauth-protected-resource/elsewhere")
        server.json(
            "/mcp", {"error": "invalid_token"}, 401, {"WWW-Authenticate": f'Bearer resource_metadata="{named}"'}
        )
        oauth_user.import_server(remote_entry(SERVER, server.url("/mcp")))
        named_case = authorize(oauth_user)
        server.json("/mcp", {"jsonrpc": "2.0", "id": 1, "result": {}}, 200)
        open_case = authorize(oauth_user)
        used = [q.path for q in server.requests if q.path in ("/register", "/authorize", "/token")]
    lines = []
    for r in (named_case, open_case):
        assert r.returncode == 1, r.stdout + r.stderr
        assert "using the default endpoints" not in r.stdout
        [line] = [x for x in r.stderr.strip().splitlines() if not x.startswith("! ")]
        lines.append(line)
    assert lines[0].startswith(f"no authorization server metadata for {server.base_url} (tried "), lines[0]
    assert lines[1].startswith(
        f"{server.url('/mcp')} answered without asking for an authorization (no HTTP 401), and no authorization "
        f"server metadata for {server.base_url} (tried "
    ), lines[1]
    assert used == []
