"""`docker mcp oauth authorize` through the real docker CLI against loopback servers that answer as the
RFCs the MCP authorization spec (2026-07-28) relies on say they may, and as a mix-up attacker would:
RFC 9207 `iss` in the authorization response, RFC 8414 §3.3 metadata `issuer`, RFC 9728 §3.3 `resource`,
SEP-837 `application_type` in the registration, the scope a 401 challenge names, and SEP-2352 (a
registration belongs to one authorization server). The conformance suite's scenario each case mirrors
is named in its test.

Each server is a tests/servers/hostile.py server on 127.0.0.1: its authorization endpoint redirects at
once to the callback with a code and the state (and `iss` as the case says), as the suite's does. A
refusal exits 1 with one line, before any token request, and stores no token."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from tests.e2e.oauth_support import HELPERS, OAuthUser, free_port, remote_entry
from tests.servers.hostile import HostileServer

SERVER = "spec-app"
CLIENT_ID = "spec-client"
SECRET_ENV = "SPEC_APP_SECRET"  # the `env` remote_entry declares for the client secret
TOKEN = {"access_token": "spec-access-token", "token_type": "Bearer", "expires_in": 3600}


def authorize(user: OAuthUser, port: int | None = None) -> Any:
    """`oauth authorize --open-browser`, the scripted browser following the server's redirect."""
    env = {"BROWSER": f"{sys.executable} {HELPERS / 'browser_approve.py'} %s"}
    return user.docker(
        "mcp", "oauth", "authorize", SERVER, "--open-browser", "--callback-port", str(port or free_port()),
        "--timeout", "30", env=env,
    )  # fmt: skip


def one_line(r: Any) -> str:
    lines = [line for line in r.stderr.strip().splitlines() if not line.startswith(("browser_approve: ", "! "))]
    assert len(lines) == 1, f"not one line:\n{r.stderr}"
    return lines[0]


def refused(user: OAuthUser, r: Any, *fragments: str) -> str:
    """Exit 1, one line naming every fragment, no traceback, no token stored."""
    output = r.stdout + r.stderr
    assert r.returncode == 1, output
    assert "Traceback" not in output, output
    message = one_line(r)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert user.stored(SERVER)[1] is None
    return message


def succeeded(user: OAuthUser, r: Any) -> None:
    assert r.returncode == 0, r.stdout + r.stderr
    assert user.stored(SERVER)[1].access_token == TOKEN["access_token"]


def pre_registered(user: OAuthUser, server: HostileServer, **kw: Any) -> None:
    """A pre-registered public client without endpoints (so they are discovered at `server`), or with `kw`."""
    user.import_server(remote_entry(SERVER, server.url("/mcp"), client_id=CLIENT_ID, **kw))


def dynamic(user: OAuthUser, server: HostileServer) -> None:
    """No client in the catalog: dynamic registration at `server`'s /register."""
    server.json("/register", {"client_id": "registered-client", "token_endpoint_auth_method": "none"}, 201)
    user.import_server(remote_entry(SERVER, server.url("/mcp")))


def spec_server(server: HostileServer, *, iss_supported: bool | None, **redirect: str) -> None:
    """RFC 9728 metadata naming `server` as the authorization server, RFC 8414 metadata with
    `authorization_response_iss_parameter_supported` (None: the key left out) and a registration
    endpoint, an authorization endpoint that redirects with `redirect` (e.g. iss=…), and a token endpoint."""
    server.protected_resource()
    server.authorization_server_metadata(
        authorization_response_iss_parameter_supported=iss_supported,
        registration_endpoint=server.url("/register"),
        token_endpoint_auth_methods_supported=["none"],
    )
    server.authorization_endpoint(code="the-code", **redirect)
    server.json("/token", TOKEN)


# --- RFC 9207: the authorization response's iss ---

ISS_CASES = {
    # conformance scenario: (metadata advertises iss, what the redirect's iss is: "issuer", a value, or None)
    "auth/iss-supported": (True, "issuer"),
    "auth/iss-not-advertised": (None, None),
    "auth/iss-not-advertised, iss sent and right": (None, "issuer"),
    "auth/iss-supported-missing": (True, None),
    "auth/iss-wrong-issuer": (True, "https://evil.example.com"),
    "auth/iss-unexpected": (None, "https://evil.example.com"),
    "auth/iss-normalized": (True, "issuer/"),
}


@pytest.mark.parametrize("client", ["pre-registered", "dynamic"])
@pytest.mark.parametrize("case", list(ISS_CASES))
def test_the_authorization_response_iss(oauth_user, case, client):
    advertised, sent = ISS_CASES[case]
    with HostileServer() as server:
        iss = {} if sent is None else {"iss": sent.replace("issuer", server.base_url)}
        spec_server(server, iss_supported=advertised, **iss)
        if client == "pre-registered":
            pre_registered(oauth_user, server)
        else:
            dynamic(oauth_user, server)
        r = authorize(oauth_user)
        token_requests = server.received("/token")
    assert len(server.received("/authorize")) == 1  # the browser step happened: the response was judged
    if sent in ("issuer", None) and not (advertised and sent is None):
        succeeded(oauth_user, r)
        assert len(token_requests) == 1
        return
    assert token_requests == []  # refused before any token request
    if sent is None:
        refused(oauth_user, r, "the authorization response has no iss, but", server.base_url)
    else:
        received = iss["iss"]
        refused(oauth_user, r, f'names the issuer "{received}", not {server.base_url} ')
    [page] = oauth_user.browser_records()
    assert page["status"] == 400 and "Authorization failed" in page["body"]  # the browser says so too


def test_iss_is_not_checked_when_both_endpoints_are_configured(oauth_user):
    """Nothing was discovered, so no issuer is known: as before, whatever iss comes along."""
    with HostileServer() as server:
        spec_server(server, iss_supported=True, iss="https://evil.example.com")
        pre_registered(
            oauth_user,
            server,
            authorization_endpoint=server.url("/authorize"),
            token_endpoint=server.url("/token"),
        )
        r = authorize(oauth_user)
        assert [q.path for q in server.requests if q.path.startswith("/.well-known")] == []
    succeeded(oauth_user, r)


def test_iss_is_checked_when_only_the_token_endpoint_is_configured(oauth_user):
    """The authorization endpoint is the discovered server's: its issuer is expected."""
    with HostileServer() as server:
        spec_server(server, iss_supported=True)
        pre_registered(oauth_user, server, token_endpoint=server.url("/token"))
        r = authorize(oauth_user)
        assert server.received("/token") == []
    refused(oauth_user, r, "has no iss")


def test_a_registration_from_a_refused_authorization_is_kept_for_the_next_one(oauth_user):
    with HostileServer() as server:
        spec_server(server, iss_supported=True, iss="https://evil.example.com")
        dynamic(oauth_user, server)
        port = free_port()  # the same redirect URI both times, so the registered client fits
        refused(oauth_user, authorize(oauth_user, port), "evil.example.com")
        server.authorization_endpoint(code="the-code", iss=server.base_url)
        r = authorize(oauth_user, port)
        assert len(server.received("/register")) == 1
    succeeded(oauth_user, r)
    assert "Using the registered client registered-client" in r.stdout
    assert json.loads(oauth_user.ok("mcp", "oauth", "ls", "--json"))[0]["authorized"] is True


# --- RFC 8414 §3.3: the metadata's issuer is the authorization server it was fetched for ---


@pytest.mark.parametrize("client", ["pre-registered", "dynamic"])
def test_metadata_naming_another_issuer_is_not_used(oauth_user, client):
    """auth/metadata-issuer-mismatch: the metadata at the named server's well-known URL says it is
    another issuer, with endpoints of its own: none of them is ever called."""
    with HostileServer() as server:
        spec_server(server, iss_supported=True)
        server.authorization_server_metadata(
            issuer="https://attacker.example.com",
            authorization_endpoint=server.url("/mismatched-as/authorize"),
            token_endpoint=server.url("/mismatched-as/token"),
            registration_endpoint=server.url("/mismatched-as/register"),
        )
        if client == "pre-registered":
            pre_registered(oauth_user, server)
        else:
            dynamic(oauth_user, server)
        r = authorize(oauth_user)
        used = [q.path for q in server.requests if not q.path.startswith(("/.well-known", "/mcp"))]
    assert used == []
    refused(
        oauth_user,
        r,
        f'{server.url("/.well-known/oauth-authorization-server")} names the issuer "https://attacker.example.com", '
        f"not {server.base_url}, the issuer it was fetched for (RFC 8414 §3.3)",
    )
    assert oauth_user.stored(SERVER) == (None, None) and oauth_user.browser_records() == []


# --- RFC 9728 §3.3: the protected-resource document is this server's ---


@pytest.mark.parametrize("client", ["pre-registered", "dynamic"])
def test_a_protected_resource_document_for_another_resource_is_not_trusted(oauth_user, client):
    """auth/resource-mismatch: the document at the server's own well-known URL claims another resource;
    authorize stops before any authorization request (nor metadata request, nor registration)."""
    with HostileServer() as server:
        spec_server(server, iss_supported=True, iss=server.base_url)
        document = "/.well-known/oauth-protected-resource/mcp"
        server.json(document, {"resource": "https://evil.example.com/mcp", "authorization_servers": [server.base_url]})
        if client == "pre-registered":
            pre_registered(oauth_user, server)
        else:
            dynamic(oauth_user, server)
        r = authorize(oauth_user)
        paths = [q.path for q in server.requests]
    assert paths == ["/mcp", document]
    refused(
        oauth_user,
        r,
        f'the protected resource metadata at {server.url(document)} is for "https://evil.example.com/mcp", '
        f"not for {server.url('/mcp')} (RFC 9728 §3.3",
    )
    assert oauth_user.stored(SERVER) == (None, None) and oauth_user.browser_records() == []


def test_a_resource_that_is_the_servers_origin_is_trusted_and_sent_as_published(oauth_user):
    """As mcp.slack.com publishes it: `resource` https://mcp.slack.com for https://mcp.slack.com/mcp."""
    with HostileServer() as server:
        spec_server(server, iss_supported=True, iss=server.base_url)
        document = "/.well-known/oauth-protected-resource/mcp"
        server.json(document, {"resource": server.base_url, "authorization_servers": [server.base_url]})
        pre_registered(oauth_user, server)
        r = authorize(oauth_user)
        [authorization] = server.received("/authorize")
        [token_request] = server.received("/token")
    succeeded(oauth_user, r)
    assert authorization.query["resource"] == server.base_url  # no "/" appended
    assert f"resource={server.base_url.replace(':', '%3A').replace('/', '%2F')}&" in token_request.body.decode() + "&"


# --- SEP-837: the registration request names a native application ---


def test_dynamic_registration_asks_for_a_native_application(oauth_user):
    with HostileServer() as server:
        spec_server(server, iss_supported=True, iss=server.base_url)
        dynamic(oauth_user, server)
        r = authorize(oauth_user)
        [registration] = server.received("/register", "POST")
    succeeded(oauth_user, r)
    body = json.loads(registration.body)
    assert body["application_type"] == "native"
    assert body["redirect_uris"][0].startswith("http://127.0.0.1:")


# --- which scopes are asked for ---

SUPPORTED = ["mcp:basic", "mcp:read", "mcp:write"]
SCOPE_CASES = {
    # case: (the challenge's scope, scopes_supported, catalog oauth.scopes, --scopes, the scope asked for)
    "auth/scope-from-www-authenticate": ("mcp:basic", SUPPORTED, (), None, "mcp:basic"),
    "auth/scope-from-scopes-supported": (None, SUPPORTED, (), None, "mcp:basic mcp:read mcp:write"),
    "auth/scope-omitted-when-undefined": (None, None, (), None, None),
    "the catalog's scopes win": ("mcp:basic", SUPPORTED, ("mcp:write",), None, "mcp:write"),
    "--scopes wins": ("mcp:basic", SUPPORTED, ("mcp:write",), "mcp:read mcp:write", "mcp:read mcp:write"),
}


@pytest.mark.parametrize("case", list(SCOPE_CASES))
def test_the_scopes_asked_for(oauth_user, case):
    challenged, supported, catalog, flag, asked = SCOPE_CASES[case]
    with HostileServer() as server:
        spec_server(server, iss_supported=True, iss=server.base_url)
        document = "/.well-known/oauth-protected-resource/mcp"
        challenge = f'Bearer resource_metadata="{server.url(document)}"'
        if challenged:
            challenge += f', scope="{challenged}"'
        server.json("/mcp", {"error": "invalid_token"}, 401, {"WWW-Authenticate": challenge})
        prm: dict[str, Any] = {"resource": server.url("/mcp"), "authorization_servers": [server.base_url]}
        if supported is not None:
            prm["scopes_supported"] = supported
        server.json(document, prm)
        dynamic(oauth_user, server)
        if catalog:
            oauth_user.import_server(
                remote_entry(SERVER, server.url("/mcp"), client_id=CLIENT_ID, scopes=catalog), name="scoped.yaml"
            )
        env = {"BROWSER": f"{sys.executable} {HELPERS / 'browser_approve.py'} %s"}
        extra = ("--scopes", flag) if flag is not None else ()
        r = oauth_user.docker(
            "mcp", "oauth", "authorize", SERVER, "--open-browser", "--callback-port", str(free_port()), *extra, env=env
        )
        [authorization] = server.received("/authorize")
        registrations = server.received("/register")
    succeeded(oauth_user, r)
    assert authorization.query.get("scope") == asked
    if not catalog:  # a registered client asks for the scopes it will use
        [registration] = registrations
        assert json.loads(registration.body).get("scope") == asked


# --- SEP-2352: a registration belongs to one authorization server ---


def authorization_server(server: HostileServer, client_id: str) -> None:
    """RFC 8414 metadata, DCR that issues `client_id`, an authorization endpoint sending iss, a token."""
    server.authorization_server_metadata(
        authorization_response_iss_parameter_supported=True,
        registration_endpoint=server.url("/register"),
        token_endpoint_auth_methods_supported=["none"],
    )
    server.json("/register", {"client_id": client_id, "token_endpoint_auth_method": "none"}, 201)
    server.authorization_endpoint(code=f"code-of-{client_id}", iss=server.base_url)
    server.json("/token", {**TOKEN, "access_token": f"token-of-{client_id}"})


def test_a_new_authorization_server_gets_a_new_registration(oauth_user):
    """auth/authorization-server-migration: the MCP server's document names AS1, then AS2; the client
    registered at AS1 is never shown to AS2, and AS1's token is forgotten."""
    with HostileServer() as mcp, HostileServer() as as1, HostileServer() as as2:
        authorization_server(as1, "as1-client")
        authorization_server(as2, "as2-client")
        mcp.protected_resource()
        document = "/.well-known/oauth-protected-resource/mcp"

        def names(issuer: HostileServer) -> None:
            mcp.json(document, {"resource": mcp.url("/mcp"), "authorization_servers": [issuer.base_url]})

        names(as1)
        oauth_user.import_server(remote_entry(SERVER, mcp.url("/mcp")))
        port = free_port()
        r = authorize(oauth_user, port)
        assert r.returncode == 0, r.stdout + r.stderr
        first, token = oauth_user.stored(SERVER)
        assert (first.client_id, token.access_token) == ("as1-client", "token-of-as1-client")

        names(as2)
        r = authorize(oauth_user, port)
        assert r.returncode == 0, r.stdout + r.stderr
        assert (
            f"Registering again: the registered client belongs to {as1.base_url}, and {SERVER} now names the "
            f"authorization server {as2.base_url}"
        ) in r.stdout
        assert len(as2.received("/register")) == 1 and len(as1.received("/register")) == 1
        assert [q.query["client_id"] for q in as2.received("/authorize")] == ["as2-client"]
        assert all(b"as1-client" not in q.body and "as1-client" not in str(q.query) for q in as2.requests)
        record, token = oauth_user.stored(SERVER)
        assert (record.client_id, record.authorization_server) == ("as2-client", as2.base_url)
        assert token.access_token == "token-of-as2-client"

        with oauth_user.store() as store:  # AS1's token is not left behind under its old key
            from docker_mcp.oauth.tokens import load_token

            assert load_token(store, first) is None

        r = authorize(oauth_user, port)  # AS2 again: the client is reused
        assert "Using the registered client as2-client" in r.stdout and len(as2.received("/register")) == 1


# --- issue 14, numbered case 1: Basic advertised, then refused ---


def test_a_server_that_advertises_basic_and_refuses_the_header_gets_the_secret_in_the_body_and_that_is_kept(
    oauth_user,
):
    secret = "PLANTED-basic-refused-secret"

    def token(h, r):  # as the public reports show: 400 invalid_request for the Basic header, the body is read
        if "authorization" in {k.lower() for k in r.headers}:
            refusal = {"error": "invalid_request", "error_description": "credentials missing or malformed"}
            h.answer(400, json.dumps(refusal).encode(), {"Content-Type": "application/json"})
        else:
            h.answer(200, json.dumps(TOKEN).encode(), {"Content-Type": "application/json"})

    with HostileServer() as server:
        server.protected_resource()
        server.authorization_server_metadata(token_endpoint_auth_methods_supported=["client_secret_basic"])
        server.authorization_endpoint(code="the-code")
        server.route("/token", token)
        pre_registered(oauth_user, server, secret=True)
        oauth_user.ok("mcp", "secret", "set", f"{SERVER}.client_secret", input=secret)
        first = authorize(oauth_user)
        again = authorize(oauth_user)
        tries = [("authorization" in {k.lower() for k in q.headers}) for q in server.received("/token")]
    succeeded(oauth_user, first)
    succeeded(oauth_user, again)
    assert tries == [True, False, False]  # Basic once, the body then, and the body from then on
    record, _ = oauth_user.stored(SERVER)
    assert record.token_endpoint_auth_method == "client_secret_post"
    oauth_user.assert_nothing_leaked(secret)
