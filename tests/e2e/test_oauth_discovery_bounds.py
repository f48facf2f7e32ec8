"""Discovery against URLs that answer with an endless event stream (issue 14, case 7: a well-known URL
that answers `Content-Type: text/event-stream` and never ends held other clients for over a minute),
through the real docker CLI: a discovery answer whose Content-Type is not JSON (`application/json` or
`+json`, RFC 8414 §3.2, RFC 9728 §3.2) is not read at all — it counts as "nothing here" and discovery
goes on to the next URL — and the MCP server's own answer to the `initialize` probe, an event stream,
is not read either (only its status and challenge matter).

The server is a tests/servers/hostile.py server on 127.0.0.1; its event streams send a comment every
0.2 s until the client hangs up. Each command runs under a subprocess timeout below the 30 s
whole-exchange deadline, only so that a hang fails the test instead of blocking it."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from tests.e2e.conftest import DOCKER
from tests.e2e.oauth_support import HELPERS, OAuthUser, free_port, remote_entry
from tests.servers.hostile import HostileServer

SERVER = "stream-app"
TOKEN = {"access_token": "stream-access-token", "token_type": "Bearer", "expires_in": 3600}
HANG_GUARD_SECONDS = 25  # below the 30 s deadline each request would otherwise run into


def event_stream(server: HostileServer, path: str, status: int = 200, method: str = "*", **headers: str) -> None:
    """`status` with `Content-Type: text/event-stream`, no Content-Length, and a comment line every 0.2 s
    for as long as the client listens (the test's end at the latest)."""

    def stream(h: Any, r: Any) -> None:
        h.close_connection = True
        h.send_response(status)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        for key, value in headers.items():
            h.send_header(key.replace("_", "-"), value)
        h.end_headers()
        try:
            while not server._stopping.wait(0.2):
                h.wfile.write(b": keep-alive\n\n")
                h.wfile.flush()
        except OSError:
            server._hang_up(path)

    server.route(path, stream, method)


def authorize(user: OAuthUser) -> subprocess.CompletedProcess[str]:
    env = {**user.plugin.env, "BROWSER": f"{sys.executable} {HELPERS / 'browser_approve.py'} %s"}
    argv = ["mcp", "oauth", "authorize", SERVER, "--open-browser", "--callback-port", str(free_port())]
    return subprocess.run(
        [DOCKER, *argv, "--timeout", "20"], env=env, capture_output=True, text=True, timeout=HANG_GUARD_SECONDS
    )


def oauth_endpoints(server: HostileServer) -> None:
    server.json("/register", {"client_id": "stream-client", "token_endpoint_auth_method": "none"}, 201)
    server.authorization_endpoint(code="the-code")
    server.json("/token", TOKEN)


def test_well_known_urls_that_stream_events_are_skipped_without_reading(oauth_user):
    """Both protected-resource URLs and the RFC 8414 URL stream; the OpenID URL has the metadata."""
    with HostileServer() as server:
        server.json("/mcp", {"error": "invalid_token"}, 401, {"WWW-Authenticate": "Bearer"})
        streaming = (
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-authorization-server",
        )
        for path in streaming:
            event_stream(server, path)
        metadata = {
            "issuer": server.base_url,
            "authorization_endpoint": server.url("/authorize"),
            "token_endpoint": server.url("/token"),
            "registration_endpoint": server.url("/register"),
            "token_endpoint_auth_methods_supported": ["none"],
        }
        server.json("/.well-known/openid-configuration", metadata)
        oauth_endpoints(server)
        oauth_user.import_server(remote_entry(SERVER, server.url("/mcp")))
        r = authorize(oauth_user)
        asked = [q.path for q in server.requests]
    assert r.returncode == 0, r.stdout + r.stderr
    for path in streaming:
        assert asked.count(path) == 1, asked  # each asked once, and left
    assert "/.well-known/openid-configuration" in asked and "/token" in asked
    assert oauth_user.stored(SERVER)[1].access_token == TOKEN["access_token"]


def test_a_probe_answered_with_an_event_stream_is_not_read(oauth_user):
    """The MCP server answers `initialize` with a stream that never ends and no challenge, and its
    protected-resource document names this server: discovery goes on at the well-known URLs."""
    with HostileServer() as server:
        event_stream(server, "/mcp", method="POST", Mcp_Session_Id="s-1")
        server.json(
            "/.well-known/oauth-protected-resource/mcp",
            {"resource": server.url("/mcp"), "authorization_servers": [server.base_url]},
        )
        server.authorization_server_metadata(
            registration_endpoint=server.url("/register"), token_endpoint_auth_methods_supported=["none"]
        )
        oauth_endpoints(server)
        oauth_user.import_server(remote_entry(SERVER, server.url("/mcp")))
        r = authorize(oauth_user)
        probes = server.received("/mcp", "POST")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(probes) == 2  # initialize, then tools/list: both streams left unread
    assert oauth_user.stored(SERVER)[1].access_token == TOKEN["access_token"]


def test_nothing_but_event_streams_ends_at_once_saying_what_each_url_answered(oauth_user):
    """Every well-known URL streams: none is read, and as a document may be there (served as something
    else than JSON), the MCP 2025-03-26 default endpoints do not apply: one line says what each answered."""
    with HostileServer() as server:
        server.json("/mcp", {"error": "invalid_token"}, 401, {"WWW-Authenticate": "Bearer"})
        for path in (
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
        ):
            event_stream(server, path)
        oauth_endpoints(server)
        oauth_user.import_server(remote_entry(SERVER, server.url("/mcp")))
        r = authorize(oauth_user)
        authorizations = server.received("/authorize")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "using the default endpoints" not in r.stdout
    error = r.stderr.strip().splitlines()
    assert len(error) == 1 and "no authorization server metadata" in error[0], r.stderr
    assert "/.well-known/oauth-authorization-server: answered text/event-stream, not JSON" in error[0], r.stderr
    assert not authorizations
