"""A registered (DCR) client the authorization server has forgotten (issue 14, case 2: servers that keep
their registrations in memory lose them when they restart), through the real docker CLI: the token
request answered `invalid_client`, or the authorization response `error=invalid_client` /
`unauthorized_client`, makes `oauth authorize` forget the stored client and its token and say so in one
line, and the next `oauth authorize` registers a new client and succeeds.

The server is a tests/servers/hostile.py server on 127.0.0.1 that knows one registered client at a
time, as oidc-provider with its in-memory adapter does after a restart: its token endpoint answers an
unknown client as oidc-provider does (HTTP 401, `{"error": "invalid_client", "error_description":
"client authentication failed"}`); its authorization endpoint redirects at once, with a code for the
known client and the case's error for another."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from tests.e2e.oauth_support import OAuthUser, free_port, remote_entry
from tests.servers.hostile import HostileServer

SERVER = "forgetful-app"
TOKEN = {"access_token": "forgetful-access-token", "token_type": "Bearer", "expires_in": 3600}


class ForgetfulServer:
    """Registers client-1, client-2, … and knows only the latest (`restart()` forgets every one)."""

    def __init__(self, server: HostileServer, callback_error: str | None) -> None:
        self.server = server
        self.registered = 0
        self.known: str | None = None
        self.callback_error = callback_error  # what the authorization endpoint says to an unknown client
        server.protected_resource()
        server.authorization_server_metadata(
            registration_endpoint=server.url("/register"), token_endpoint_auth_methods_supported=["none"]
        )
        server.route("/register", self.register, method="POST")
        server.route("/authorize", self.authorize, method="GET")
        server.route("/token", self.token, method="POST")

    def restart(self) -> None:
        self.known = None

    def register(self, h: Any, r: Any) -> None:
        self.registered += 1
        self.known = f"client-{self.registered}"
        h.answer(201, json.dumps({"client_id": self.known, "token_endpoint_auth_method": "none"}).encode())

    def authorize(self, h: Any, r: Any) -> None:
        known = r.query.get("client_id") == self.known
        if known or self.callback_error is None:  # oidc-provider shows an error page; a stand-in lets it by
            answer = {"code": "the-code"}
        else:
            answer = {"error": self.callback_error, "error_description": "unknown client"}
        answer["state"] = r.query["state"]
        h.answer(302, b"", {"Location": f"{r.query['redirect_uri']}?{urlencode(answer)}"})

    def token(self, h: Any, r: Any) -> None:
        if dict(parse_qsl(r.body.decode())).get("client_id") != self.known:
            error = {"error": "invalid_client", "error_description": "client authentication failed"}
            h.answer(401, json.dumps(error).encode())
        else:
            h.answer(200, json.dumps(TOKEN).encode())


def authorize(user: OAuthUser, port: int) -> Any:
    """On the same callback port every time: a new redirect URI would register a new client anyway."""
    return user.authorize(SERVER, port)  # the scripted browser follows the redirect to the callback


@pytest.mark.parametrize("refused_at", ["token endpoint", "invalid_client", "unauthorized_client"])
def test_a_client_the_server_forgot_is_forgotten_and_the_next_authorize_registers_again(oauth_user, refused_at):
    port = free_port()
    with HostileServer() as stand_in:
        server = ForgetfulServer(stand_in, None if refused_at == "token endpoint" else refused_at)
        oauth_user.import_server(remote_entry(SERVER, stand_in.url("/mcp")))
        first = authorize(oauth_user, port)
        assert first.returncode == 0, first.stdout + first.stderr
        server.restart()

        refused = authorize(oauth_user, port)
        after_refusal = oauth_user.stored(SERVER)
        again = authorize(oauth_user, port)
        registrations = server.registered
        token_requests = len(stand_in.received("/token"))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "Using the registered client client-1" in refused.stdout
    lines = [x for x in refused.stderr.strip().splitlines() if not x.startswith(("! ", "browser_approve: "))]
    assert len(lines) == 1, refused.stderr
    expected = "invalid_client" if refused_at == "token endpoint" else refused_at
    assert lines[0].endswith(
        f"the authorization server no longer knows the registered client client-1 ({expected}); it is "
        f"forgotten: run 'docker mcp oauth authorize {SERVER}' again to register a new one"
    ), lines[0]
    assert "Traceback" not in refused.stderr
    assert after_refusal == (None, None)  # neither the client nor the old token is kept

    assert again.returncode == 0, again.stdout + again.stderr
    assert "Registering a client with" in again.stdout and registrations == 2
    record, token = oauth_user.stored(SERVER)
    assert record.client_id == "client-2" and token.access_token == TOKEN["access_token"]
    assert token_requests == (3 if refused_at == "token endpoint" else 2)


def test_other_refusals_keep_the_registered_client(oauth_user):
    """access_denied (the user said no) says nothing about the client: it is kept and reused."""
    port = free_port()
    with HostileServer() as stand_in:
        ForgetfulServer(stand_in, None)
        oauth_user.import_server(remote_entry(SERVER, stand_in.url("/mcp")))
        assert authorize(oauth_user, port).returncode == 0
        stand_in.authorization_endpoint(error="access_denied")
        r = authorize(oauth_user, port)
    assert r.returncode == 1 and "authorization failed: access_denied" in r.stderr
    assert "forgotten" not in r.stderr
    assert oauth_user.stored(SERVER)[0].client_id == "client-1"


def test_oidc_provider_restarted_forgets_the_client_and_authorize_registers_again_before_the_browser(
    oauth_user, tmp_path
):
    """The real case against oidc-provider: its in-memory registrations are gone after a restart, and its
    authorization endpoint then shows its own error page instead of redirecting back (nothing reaches the
    callback). With RFC 7592 on, the registration answer carries registration_client_uri and
    registration_access_token; the next `oauth authorize` reads the registration first, gets 401, and
    registers again before sending the browser anywhere: one browser visit, and success."""
    from tests.helpers.oidc import start_oidc
    from tests.servers.protected_resource import ProtectedResource

    port, oidc_port = free_port(), free_port()
    config = {"registration": True, "registrationManagement": True, "port": oidc_port}
    with ProtectedResource() as resource:
        oidc = start_oidc(tmp_path, {**config, "resource": resource.url})
        try:
            resource.authorization_server = oidc.issuer
            oauth_user.import_server(remote_entry(SERVER, resource.url))
            assert oauth_user.authorize(SERVER, port).returncode == 0
            first, first_token = oauth_user.stored(SERVER)
            assert first.registration_client_uri.startswith(oidc.issuer) and first.registration_access_token

            oidc.stop()
            oidc.start()  # same port and issuer; every registration forgotten
            visits = len(oauth_user.browser_records())
            r = oauth_user.authorize(SERVER, port)
            assert r.returncode == 0, r.stdout + r.stderr
            assert (
                f"Registering again: the authorization server no longer knows the registered client {first.client_id}"
                in r.stdout
            )
            assert len(oauth_user.browser_records()) == visits + 1  # one visit: the new client's
            second, second_token = oauth_user.stored(SERVER)
            assert second.client_id != first.client_id and second_token.access_token
            assert oidc.count("/reg", method="POST") == 2  # the request log spans both runs: one registration each
            reads = [q for q in oidc.requests() if q["method"] == "GET" and q["path"].startswith("/reg/")]
            assert [q["status"] for q in reads] == [401]  # RFC 7592 §2.1: it no longer exists

            # the server still knows the new client: the next authorize reuses it
            r = oauth_user.authorize(SERVER, port)
            assert r.returncode == 0 and f"Using the registered client {second.client_id}" in r.stdout
        finally:
            oidc.stop()
    oauth_user.assert_nothing_leaked(
        first.registration_access_token, second.registration_access_token, first_token.access_token,
        second_token.access_token, second.client_secret,
    )  # fmt: skip
