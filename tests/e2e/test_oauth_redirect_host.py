"""Issue 14, case 3: an authorization server that registers only `http://localhost` redirect URIs refuses
the default `http://127.0.0.1:PORT/callback`; the catalog's `oauth.redirectHost` (and `oauth authorize
--callback-host`) choose the loopback host of the redirect URI a DCR client registers and the callback
server listens on. Through the real docker CLI, with a loopback stand-in for such a server (RFC 9728 and
RFC 8414 documents, RFC 7591 registration that answers 400 invalid_redirect_uri as §3.2.2 says, an
authorization endpoint that redirects at once with a code, a token endpoint)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from tests.e2e.oauth_support import OAuthUser, free_port
from tests.servers.hostile import HostileServer

GO_PLUGIN = "https://mcp.docker.com/oauth/callback"  # registered too, first (issue 17); this server refuses it
SERVER = "localhost-only"
CLIENT_ID = "localhost-only-client"
TOKEN = {"access_token": "localhost-only-access-token", "token_type": "Bearer", "expires_in": 3600}


class LocalhostOnlyServer:
    """The stand-in: registers a client only when every redirect URI is http on one of `accepted` hosts."""

    def __init__(self, server: HostileServer, accepted: set[str]) -> None:
        self.server = server
        self.accepted = accepted
        server.protected_resource("/mcp")
        server.authorization_server_metadata(
            registration_endpoint=server.url("/register"), token_endpoint_auth_methods_supported=["none"]
        )
        server.route("/register", self._register, method="POST")
        server.authorization_endpoint(code="the-code")
        server.json("/token", TOKEN)

    def _register(self, handler: Any, request: Any) -> None:
        body = json.loads(request.body)
        uris = body.get("redirect_uris") or []
        hosts = {urlsplit(uri).hostname for uri in uris}
        if not uris or not hosts <= self.accepted or any(not uri.startswith("http://") for uri in uris):
            allowed = " or ".join(sorted(self.accepted))
            refusal = {"error": "invalid_redirect_uri", "error_description": f"redirect URIs must be http://{allowed}"}
            handler.answer(400, json.dumps(refusal).encode())
            return
        client = {**body, "client_id": CLIENT_ID, "token_endpoint_auth_method": "none"}
        handler.answer(201, json.dumps(client).encode())

    def registered_redirect_uris(self) -> list[list[str]]:
        return [json.loads(r.body)["redirect_uris"] for r in self.server.received("/register", "POST")]

    def authorization_redirect_uris(self) -> list[str]:
        return [r.query["redirect_uri"] for r in self.server.received("/authorize", "GET")]


@contextmanager
def localhost_only(accepted: set[str] | None = None) -> Iterator[LocalhostOnlyServer]:
    with HostileServer() as server:
        yield LocalhostOnlyServer(server, accepted or {"localhost"})


def entry(url: str, *oauth_lines: str) -> str:
    lines = [f"name: {SERVER}", "type: remote", "remote:", f"  url: {url}"]
    if oauth_lines:
        lines += ["oauth:", *(f"  {line}" for line in oauth_lines)]
    return "\n".join(lines) + "\n"


def authorize(user: OAuthUser, port: int, *extra: str) -> Any:
    return user.authorize(SERVER, port, *extra)


def test_the_default_redirect_uri_is_refused_by_a_server_that_registers_only_localhost(oauth_user):
    port = free_port()
    with localhost_only() as standin:
        oauth_user.import_server(entry(standin.server.url("/mcp")))
        r = authorize(oauth_user, port)
        registered = standin.registered_redirect_uris()
    assert r.returncode == 1, r.stdout + r.stderr
    ours = f"http://127.0.0.1:{port}/callback"
    assert registered == [[ours, GO_PLUGIN], [ours]]
    assert (
        f"The authorization server refused the redirect URI {GO_PLUGIN} of Docker's Go plugin (redirect URIs must "
        f"be http://localhost): registering a client for {ours} alone, which that plugin cannot use"
    ) in r.stdout
    assert (
        f"dynamic client registration for {SERVER} failed with HTTP 400: redirect URIs must be http://localhost"
        in r.stderr
    )
    assert oauth_user.stored(SERVER) == (None, None)


def test_redirect_host_localhost_registers_listens_and_authorizes_on_localhost(oauth_user):
    port = free_port()
    with localhost_only() as standin:
        oauth_user.import_server(entry(standin.server.url("/mcp"), "redirectHost: localhost"))
        shown = json.loads(oauth_user.ok("mcp", "catalog", "show", SERVER, "--format", "json"))
        assert shown["registry"][SERVER]["oauth"] == {"redirectHost": "localhost"}
        r = authorize(oauth_user, port)
        registered = standin.registered_redirect_uris()
        asked = standin.authorization_redirect_uris()
    assert r.returncode == 0, r.stdout + r.stderr
    uri = f"http://localhost:{port}/callback"
    assert registered == [[uri, GO_PLUGIN], [uri]] and asked == [uri]
    assert f"Waiting for authorization callback on {uri}..." in r.stdout
    [browser] = oauth_user.browser_records()
    assert browser["ok"] is True and browser["callback"] == uri  # the callback server answered on localhost
    record, token = oauth_user.stored(SERVER)
    assert record.client_id == CLIENT_ID and record.redirect_uri == uri
    assert token.access_token == TOKEN["access_token"]


def test_a_stored_client_registers_again_when_the_redirect_host_changes(oauth_user):
    port = free_port()
    with localhost_only({"127.0.0.1", "localhost", "::1"}) as standin:
        url = standin.server.url("/mcp")
        oauth_user.import_server(entry(url))
        assert authorize(oauth_user, port).returncode == 0
        oauth_user.import_server(entry(url, "redirectHost: localhost"))
        r = authorize(oauth_user, port)
        assert r.returncode == 0, r.stdout + r.stderr
        assert (
            f'Re-registering the client (redirect URI changed from "http://127.0.0.1:{port}/callback" '
            f'to "http://localhost:{port}/callback")...'
        ) in r.stdout
        r = authorize(oauth_user, port, "--callback-host", "::1")  # the flag wins over the catalog
        assert r.returncode == 0, r.stdout + r.stderr
        r = authorize(oauth_user, port, "--callback-host", "::1")  # the same redirect URI: reused
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"Using the registered client {CLIENT_ID}" in r.stdout
        registered = standin.registered_redirect_uris()
    uris = [f"http://127.0.0.1:{port}/callback", f"http://localhost:{port}/callback", f"http://[::1]:{port}/callback"]
    assert registered == [x for uri in uris for x in ([uri, GO_PLUGIN], [uri])]
    assert oauth_user.browser_records()[-1]["callback"] == f"http://[::1]:{port}/callback"
    record, token = oauth_user.stored(SERVER)
    assert record.redirect_uri == f"http://[::1]:{port}/callback" and token is not None


def test_a_redirect_host_that_is_not_loopback_is_refused_at_import_and_on_the_command_line(oauth_user, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(entry("https://mcp.example.com/mcp", "redirectHost: example.com"))
    r = oauth_user.docker("mcp", "catalog", "import", str(path))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip() == (
        f'{path}:6:17: oauth.redirectHost: "example.com" is not a loopback host; use localhost, 127.0.0.1 or ::1'
    )
    assert SERVER not in oauth_user.ok("mcp", "catalog", "ls")
    r = oauth_user.docker("mcp", "oauth", "authorize", SERVER, "--callback-host", "example.com")
    assert r.returncode == 125 and "'example.com' is not one of 'localhost', '127.0.0.1', '::1'" in r.stderr
