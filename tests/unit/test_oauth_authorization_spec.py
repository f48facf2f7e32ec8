"""The checks the MCP authorization spec (2026-07-28) makes mandatory for a client, each as the RFC words
it: RFC 9207 `iss` in the authorization response, RFC 8414 §3.3 metadata `issuer`, RFC 9728 §3.3
protected-resource `resource`, SEP-837 `application_type`, scope selection, and SEP-2352 (a registration
belongs to one issuer). Here: the pure functions, the callback server, and discovery and the choice of a
client with a session that answers from a dict; the same cases against loopback servers through the
docker CLI are in tests/e2e/test_oauth_spec_checks.py."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from docker_mcp.oauth.callback import CallbackServer, ExpectedIssuer, Redirect, check_iss
from docker_mcp.oauth.clients import DCR, ClientRecord
from docker_mcp.oauth.discovery import (
    AuthorizationServerMetadata,
    Discovery,
    discover,
    fetch_authorization_server,
    metadata_issuer_matches,
    parse_authorization_server,
    same_issuer,
    select_scopes,
)
from docker_mcp.oauth.errors import CallbackError, DiscoveryError
from docker_mcp.oauth.flow import expected_issuer
from docker_mcp.oauth.registration import application_type, register

ISSUER = "https://as.example.com"


def metadata(**kw) -> AuthorizationServerMetadata:
    base = {
        "issuer": ISSUER,
        "authorization_endpoint": ISSUER + "/authorize",
        "token_endpoint": ISSUER + "/token",
    }
    return AuthorizationServerMetadata(**{**base, **kw})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- RFC 9207: iss in the authorization response ---


def test_iss_equal_to_the_issuer_is_accepted_advertised_or_not():
    check_iss(ISSUER, ExpectedIssuer(ISSUER, required=True))
    check_iss(ISSUER, ExpectedIssuer(ISSUER, required=False))


def test_iss_missing_is_refused_only_when_the_metadata_advertises_it():
    with pytest.raises(CallbackError) as e:
        check_iss(None, ExpectedIssuer(ISSUER, required=True))
    assert str(e.value).startswith("authorization failed: the authorization response has no iss, but")
    assert ISSUER in str(e.value) and "\n" not in str(e.value)
    check_iss(None, ExpectedIssuer(ISSUER, required=False))  # not advertised, not sent: as before


@pytest.mark.parametrize("required", [True, False])
def test_iss_naming_another_server_is_refused_even_when_not_advertised(required):
    with pytest.raises(CallbackError) as e:
        check_iss("https://evil.example.com", ExpectedIssuer(ISSUER, required))
    message = str(e.value)
    assert '"https://evil.example.com"' in message and f"not {ISSUER} " in message and "\n" not in message


@pytest.mark.parametrize(
    "variant",
    [ISSUER + "/", "HTTPS://as.example.com", "https://AS.example.com", "https://as.example.com:443", "", " " + ISSUER],
)
def test_iss_is_compared_as_a_plain_string_without_normalisation(variant):
    with pytest.raises(CallbackError, match="names the issuer"):
        check_iss(variant, ExpectedIssuer(ISSUER, required=True))


def test_iss_is_not_checked_when_the_authorization_server_was_not_discovered():
    check_iss("https://anything.example", None)
    check_iss(None, None)


def test_an_iss_that_repeats_the_code_or_carries_escapes_is_not_printed_as_is():
    with pytest.raises(CallbackError) as e:
        check_iss("the-secret-code-1234", ExpectedIssuer(ISSUER), sent=("the-secret-code-1234",))
    assert "the-secret-code" not in str(e.value) and "repeats what was sent" in str(e.value)
    with pytest.raises(CallbackError) as e:
        check_iss("https://evil\x1b[2J.example", ExpectedIssuer(ISSUER))
    assert "\x1b" not in str(e.value)


def test_metadata_reads_authorization_response_iss_parameter_supported_only_when_true():
    base = {"issuer": ISSUER, "authorization_endpoint": ISSUER + "/a", "token_endpoint": ISSUER + "/t"}
    url = ISSUER + "/.well-known/oauth-authorization-server"
    assert parse_authorization_server(
        {**base, "authorization_response_iss_parameter_supported": True}, url
    ).authorization_response_iss_parameter_supported
    for value in (False, "true", 1, None):
        found = parse_authorization_server({**base, "authorization_response_iss_parameter_supported": value}, url)
        assert found.authorization_response_iss_parameter_supported is False
    assert parse_authorization_server(base, url).authorization_response_iss_parameter_supported is False


def test_the_issuer_is_expected_when_the_authorization_request_goes_to_the_discovered_server():
    found = Discovery(ISSUER + "/mcp", ISSUER, metadata(authorization_response_iss_parameter_supported=True))
    record = ClientRecord("s", DCR, "c", authorization_endpoint=ISSUER + "/authorize")
    assert expected_issuer(record, found) == ExpectedIssuer(ISSUER, True)
    assert expected_issuer(record, None) is None  # both endpoints configured: nothing discovered
    configured = ClientRecord("s", DCR, "c", authorization_endpoint="https://login.example.com/authorize")
    assert expected_issuer(configured, found) is None  # the catalog's endpoint: its issuer is unknown


def callback(issuer: ExpectedIssuer | None) -> tuple[CallbackServer, str]:
    port = free_port()
    server = CallbackServer(Redirect(f"http://127.0.0.1:{port}/callback", "127.0.0.1", port, "/callback"), "S", issuer)
    return server, f"http://127.0.0.1:{port}/callback"


def test_the_callback_refuses_a_wrong_iss_with_400_and_ends_with_the_error():
    server, url = callback(ExpectedIssuer(ISSUER, required=True))
    with server:
        answer = requests.get(url, params={"code": "C", "state": "S", "iss": ISSUER + "/"}, timeout=5)
        assert answer.status_code == 400 and "Authorization failed: the authorization response names" in answer.text
        with pytest.raises(CallbackError, match=r'names the issuer "https://as\.example\.com/", not'):
            server.wait(1)


def test_the_callback_refuses_an_error_response_from_another_issuer():
    server, url = callback(ExpectedIssuer(ISSUER))
    with server:
        requests.get(url, params={"error": "access_denied", "state": "S", "iss": "https://evil.example"}, timeout=5)
        with pytest.raises(CallbackError, match=r"evil\.example"):
            server.wait(1)


def test_the_callback_takes_the_code_with_the_right_iss_and_keeps_the_state_rule():
    server, url = callback(ExpectedIssuer(ISSUER, required=True))
    with server:
        wrong_state = requests.get(url, params={"code": "C", "state": "X", "iss": "https://evil"}, timeout=5)
        assert wrong_state.status_code == 400  # not this authorization's: ignored, still waiting
        with ThreadPoolExecutor(1) as pool:  # the code's request is answered once the flow calls finish()
            ok = pool.submit(requests.get, url, params={"code": "THE-CODE", "state": "S", "iss": ISSUER}, timeout=5)
            assert server.wait(5) == "THE-CODE"
            server.finish(True)
            assert ok.result().status_code == 200


def test_an_empty_iss_is_present_and_compared():
    server, url = callback(ExpectedIssuer(ISSUER, required=False))
    with server:
        requests.get(f"{url}?code=C&state=S&iss=", timeout=5)
        with pytest.raises(CallbackError, match='names the issuer ""'):
            server.wait(1)


# --- a session that answers from a dict, for discovery without a server ---


class FakeResponse:
    def __init__(self, status: int, body: object = None, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self._body = body
        self.headers = headers or {}

    def json(self) -> object:
        if self._body is None:
            raise ValueError("no JSON")
        return self._body


class FakeSession:
    """GET url -> JSON body (200), POST to the MCP server -> 401 with `challenge`; anything else 404."""

    def __init__(self, documents: dict[str, object], challenge: str = "") -> None:
        self.documents = documents
        self.challenge = challenge
        self.got: list[str] = []

    def get(self, url: str, **kw: object) -> FakeResponse:
        self.got.append(url)
        return FakeResponse(200, self.documents[url]) if url in self.documents else FakeResponse(404)

    def post(self, url: str, **kw: object) -> FakeResponse:
        return FakeResponse(401, {"error": "invalid_token"}, {"WWW-Authenticate": self.challenge})


MCP = "https://mcp.example.com/mcp"
PRM_URL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
AS_URL = ISSUER + "/.well-known/oauth-authorization-server"


def as_metadata(issuer: object = ISSUER) -> dict[str, object]:
    return {
        "issuer": issuer,
        "authorization_endpoint": "https://as.example.com/authorize",
        "token_endpoint": "https://as.example.com/token",
    }


@pytest.fixture(autouse=True)
def public_hosts_resolve_nowhere(monkeypatch):
    """check_url resolves names: example.com must not be looked up (nor fail) in a unit test."""
    import docker_mcp.oauth.http as http

    monkeypatch.delenv("DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS", raising=False)
    monkeypatch.setattr(http, "_addresses", lambda host, port: [])


# --- RFC 8414 §3.3: the metadata's issuer ---


def test_metadata_issuer_is_compared_exactly_with_the_issuer_it_was_fetched_for():
    assert metadata_issuer_matches(ISSUER, ISSUER)
    for other in (ISSUER + "/", "https://attacker.example.com", "HTTPS://as.example.com", "", None, 7):
        assert not metadata_issuer_matches(other, ISSUER), other
    assert not metadata_issuer_matches(ISSUER + "/tenant/", ISSUER + "/tenant", from_server_url=True)


def test_without_a_protected_resource_document_the_origin_with_a_trailing_slash_is_the_same_issuer():
    assert metadata_issuer_matches(ISSUER + "/", ISSUER, from_server_url=True)
    assert not metadata_issuer_matches("https://other.example.com/", ISSUER, from_server_url=True)


def test_metadata_naming_another_issuer_is_not_used():
    session = FakeSession({AS_URL: as_metadata("https://attacker.example.com")})
    with pytest.raises(DiscoveryError) as e:
        fetch_authorization_server(session, ISSUER)
    message = str(e.value)
    assert f'{AS_URL} names the issuer "https://attacker.example.com", not {ISSUER}, the issuer it was' in message
    assert "RFC 8414 §3.3" in message and "\n" not in message
    assert session.got == [AS_URL]  # not looked for elsewhere


def test_metadata_without_an_issuer_is_not_used():
    session = FakeSession({AS_URL: {k: v for k, v in as_metadata().items() if k != "issuer"}})
    with pytest.raises(DiscoveryError, match=f"{AS_URL} has no issuer, not {ISSUER}"):
        fetch_authorization_server(session, ISSUER)


def test_metadata_for_an_issuer_with_a_path_names_that_path():
    tenant = ISSUER + "/tenant1"
    inserted = "https://as.example.com/.well-known/oauth-authorization-server/tenant1"
    assert fetch_authorization_server(FakeSession({inserted: as_metadata(tenant)}), tenant).issuer == tenant
    with pytest.raises(DiscoveryError, match="names the issuer"):
        fetch_authorization_server(FakeSession({inserted: as_metadata(ISSUER)}), tenant)


def test_discovery_refuses_metadata_whose_issuer_is_not_the_named_authorization_server():
    prm = {"resource": MCP, "authorization_servers": [ISSUER]}
    session = FakeSession({PRM_URL: prm, AS_URL: as_metadata(ISSUER + "/")})
    with pytest.raises(DiscoveryError, match=r'names the issuer "https://as\.example\.com/", not https'):
        discover(session, MCP)


def test_discovery_without_a_protected_resource_document_accepts_the_origin_with_a_slash():
    origin_metadata = "https://mcp.example.com/.well-known/oauth-authorization-server"
    body = {
        "issuer": "https://mcp.example.com/",
        "authorization_endpoint": "https://mcp.example.com/authorize",
        "token_endpoint": "https://mcp.example.com/token",
    }
    found = discover(FakeSession({origin_metadata: body}), MCP)
    assert found.authorization_server == "https://mcp.example.com"
    assert found.metadata.issuer == "https://mcp.example.com/"  # what an iss must then equal


# --- RFC 9728 §3.3: the protected-resource document is for this server ---


def prm_session(resource: object, url: str = PRM_URL) -> FakeSession:
    return FakeSession({url: {"resource": resource, "authorization_servers": [ISSUER]}, AS_URL: as_metadata()})


@pytest.mark.parametrize(
    "resource",
    [MCP, MCP + "/", "https://mcp.example.com", "https://mcp.example.com/", "https://MCP.example.com:443/mcp"],
)
def test_a_resource_that_is_the_server_url_or_a_parent_of_it_is_trusted(resource):
    found = discover(prm_session(resource), MCP)
    assert found.resource == resource  # sent as RFC 8707 `resource` exactly as published
    assert found.authorization_server == ISSUER


def test_the_slack_shape_stays_valid():
    """mcp.slack.com publishes `resource: https://mcp.slack.com` for https://mcp.slack.com/mcp."""
    url = "https://mcp.slack.com/mcp"
    document = "https://mcp.slack.com/.well-known/oauth-protected-resource/mcp"
    session = FakeSession(
        {document: {"resource": "https://mcp.slack.com", "authorization_servers": [ISSUER]}, AS_URL: as_metadata()}
    )
    assert discover(session, url).resource == "https://mcp.slack.com"


@pytest.mark.parametrize(
    "resource",
    [
        "https://evil.example.com/mcp",  # auth/resource-mismatch
        "http://mcp.example.com/mcp",  # another scheme
        "https://mcp.example.com:8443/mcp",  # another port
        "https://mcp.example.com/mcp2",  # a prefix, but not on a segment boundary
        "https://mcp.example.com/mcp/v2",  # a child, not a parent
        "https://mcp.example.com/other",
        "mcp.example.com/mcp",  # not absolute
    ],
)
def test_a_resource_for_another_url_is_not_trusted(resource):
    session = prm_session(resource)
    with pytest.raises(DiscoveryError) as e:
        discover(session, MCP)
    message = str(e.value)
    assert f'the protected resource metadata at {PRM_URL} is for "{resource}", not for {MCP}' in message
    assert "RFC 9728 §3.3" in message and "\n" not in message
    assert AS_URL not in session.got  # nothing it names is asked


def test_the_resource_is_checked_at_a_url_named_by_the_challenge_too():
    named = "https://mcp.example.com/custom/metadata.json"
    session = prm_session("https://evil.example.com/mcp", url=named)
    session.challenge = f'Bearer resource_metadata="{named}"'
    with pytest.raises(DiscoveryError, match=f"metadata at {named} is for"):
        discover(session, MCP)


def test_a_document_without_resource_keeps_the_server_url_as_before():
    session = FakeSession({PRM_URL: {"authorization_servers": [ISSUER]}, AS_URL: as_metadata()})
    assert discover(session, MCP).resource == MCP


# --- SEP-837: the registration says what kind of client this is ---


def test_a_loopback_redirect_uri_makes_a_native_application():
    for uri in ("http://127.0.0.1:54321/callback", "http://localhost:3118/cb", "http://[::1]:5000/callback"):
        assert application_type(uri) == "native", uri
    assert application_type("https://app.example.com/callback") == "web"
    assert application_type("http://app.example.com/callback") == "web"


class RegistrationSession:
    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []

    def post(self, url: str, json: dict[str, object], **kw: object) -> FakeResponse:
        self.sent.append(json)
        return FakeResponse(201, {"client_id": "issued", "token_endpoint_auth_method": "none"})


def test_the_registration_request_carries_application_type_native():
    session = RegistrationSession()
    found = Discovery(MCP, ISSUER, metadata(registration_endpoint=ISSUER + "/register"))
    record = register(session, "s", found, "http://127.0.0.1:54321/callback", ("mcp:tools",))
    [body] = session.sent
    assert body["application_type"] == "native"  # with Docker's Go plugin's https URI too (issue 17)
    assert body["redirect_uris"] == ["http://127.0.0.1:54321/callback", "https://mcp.docker.com/oauth/callback"]
    assert record.client_id == "issued" and record.authorization_server == ISSUER


# --- scope selection: the challenge, then scopes_supported, then none ---


def bearer(header: str) -> list:
    from docker_mcp.oauth.discovery import parse_www_authenticate

    return parse_www_authenticate(header)


def test_the_challenges_scope_wins_over_scopes_supported():
    """auth/scope-from-www-authenticate"""
    document = {"scopes_supported": ["mcp:basic", "mcp:read", "mcp:write"]}
    assert select_scopes(bearer('Bearer scope="mcp:basic", resource_metadata="x"'), document) == ("mcp:basic",)


def test_scopes_supported_when_the_challenge_names_none():
    """auth/scope-from-scopes-supported"""
    document = {"scopes_supported": ["mcp:basic", "mcp:read", "mcp:write"]}
    assert select_scopes(bearer('Bearer resource_metadata="x"'), document) == ("mcp:basic", "mcp:read", "mcp:write")
    assert select_scopes(bearer('Bearer scope=""'), document) == ("mcp:basic", "mcp:read", "mcp:write")
    assert select_scopes([], {"scopes": ["a", "b"]}) == ("a", "b")  # the Go plugin's key


def test_no_scope_when_neither_names_one():
    """auth/scope-omitted-when-undefined"""
    assert select_scopes(bearer('Bearer resource_metadata="x"'), {"resource": MCP}) == ()
    assert select_scopes([], None) == ()
    assert select_scopes([], {"scopes_supported": "mcp:basic"}) == ()  # not a list: ignored


def test_only_a_bearer_challenges_scope_counts_and_each_scope_once():
    assert select_scopes(bearer('DPoP scope="x", Bearer scope="a b a"'), None) == ("a", "b")


def test_discovery_returns_the_challenges_scope():
    session = FakeSession(
        {
            PRM_URL: {"resource": MCP, "authorization_servers": [ISSUER], "scopes_supported": ["a", "b"]},
            AS_URL: as_metadata(),
        },
        challenge=f'Bearer scope="mcp:basic", resource_metadata="{PRM_URL}"',
    )
    assert discover(session, MCP).scopes == ("mcp:basic",)
    session.challenge = f'Bearer resource_metadata="{PRM_URL}"'
    assert discover(session, MCP).scopes == ("a", "b")


# --- SEP-2352: a registered client belongs to the authorization server that registered it ---

AS1, AS2 = "https://as1.example.com", "https://as2.example.com"
REDIRECT = "http://127.0.0.1:54321/callback"


class MigratingSession(FakeSession):
    """The MCP server's document names `self.authorization_server`; each server registers its own client."""

    def __init__(self, authorization_server: str) -> None:
        super().__init__({}, challenge=f'Bearer resource_metadata="{PRM_URL}"')
        self.authorization_server = authorization_server
        self.registrations: list[tuple[str, dict[str, object]]] = []
        for server in (AS1, AS2):
            self.documents[server + "/.well-known/oauth-authorization-server"] = {
                "issuer": server,
                "authorization_endpoint": server + "/authorize",
                "token_endpoint": server + "/token",
                "registration_endpoint": server + "/register",
                "authorization_response_iss_parameter_supported": True,
            }

    def get(self, url: str, **kw: object) -> FakeResponse:
        self.documents[PRM_URL] = {"resource": MCP, "authorization_servers": [self.authorization_server]}
        return super().get(url, **kw)

    def post(self, url: str, **kw: object) -> FakeResponse:
        if url.endswith("/register"):
            self.registrations.append((url, kw["json"]))  # type: ignore[arg-type]
            client = "as1-client" if url.startswith(AS1) else "as2-client"
            return FakeResponse(201, {"client_id": client, "token_endpoint_auth_method": "none"})
        return super().post(url, **kw)


def choose(session: MigratingSession, previous: ClientRecord | None, store: object, said: list[str]):
    from docker_mcp.catalog.schema import Remote, Server
    from docker_mcp.oauth.flow import AuthorizeOptions, _choose_client

    server = Server(name="s", type="remote", remote=Remote(url=MCP))
    return _choose_client(server, MCP, REDIRECT, previous, session, store, AuthorizeOptions(), said.append)


def test_same_issuer_is_a_string_comparison_but_for_an_origins_trailing_slash():
    assert same_issuer(AS1, AS1) and same_issuer(AS1, AS1 + "/") and same_issuer(AS1 + "/", AS1)
    assert not same_issuer(AS1, AS2)
    assert not same_issuer(AS1 + "/tenant", AS1 + "/tenant/")  # a path: exact only
    assert not same_issuer(AS1, AS1 + "//")


def test_a_client_registered_at_another_authorization_server_is_not_reused():
    """auth/authorization-server-migration: registered at AS1, the document now names AS2: register at
    AS2, never show AS2 the AS1 client, and forget the token AS1 issued."""
    from docker_mcp.oauth.tokens import Token, load_token, save_token
    from tests.unit.test_oauth_pieces import MemoryStore

    store, said = MemoryStore(), []
    first, _ = choose(MigratingSession(AS1), None, store, said)
    assert (first.client_id, first.authorization_server) == ("as1-client", AS1)
    save_token(store, first, Token("as1-token"))

    session = MigratingSession(AS2)
    chosen, found = choose(session, first, store, said)
    assert (chosen.client_id, chosen.authorization_server) == ("as2-client", AS2)
    assert chosen.authorization_endpoint == AS2 + "/authorize" and found.metadata.issuer == AS2
    assert [url for url, _ in session.registrations] == [AS2 + "/register"]
    assert "as1-client" not in str(session.registrations)
    assert (
        said[-2]
        == f"Registering again: the registered client belongs to {AS1}, and s now names the authorization server {AS2}"
    )
    assert load_token(store, first) is None  # AS1's token: no client of this server reads it now

    again, _ = choose(session, chosen, store, said)  # the same server next time: reused
    assert again.client_id == "as2-client" and len(session.registrations) == 1
    assert said[-1] == "Using the registered client as2-client"


def test_a_client_with_no_recorded_authorization_server_is_judged_by_its_authorization_endpoint():
    """A record without `authorizationServer`: reused where its authorization endpoint still is."""
    from tests.unit.test_oauth_pieces import MemoryStore

    session, said = MigratingSession(AS1), []
    old = ClientRecord(
        "s", DCR, "old-client", authorization_endpoint=AS1 + "/authorize", redirect_uri=REDIRECT, resource_url=MCP
    )
    chosen, _ = choose(session, old, MemoryStore(), said)
    assert chosen.client_id == "old-client" and session.registrations == []
    session.authorization_server = AS2
    chosen, _ = choose(session, old, MemoryStore(), said)
    assert chosen.client_id == "as2-client" and [url for url, _ in session.registrations] == [AS2 + "/register"]
    assert said[-2].startswith(f"Registering again: the registered client belongs to {AS1}/authorize, and s now")


class PerMethodSession(FakeSession):
    """A server that challenges every request, or (`open_initialize`) lets `initialize` through."""

    def __init__(self, documents: dict[str, object], challenge: str, open_initialize: bool = True) -> None:
        super().__init__(documents, challenge)
        self.open_initialize = open_initialize
        self.posted: list[tuple[str, dict[str, str]]] = []

    def post(self, url: str, **kw: object) -> FakeResponse:
        body, headers = kw["json"], kw["headers"]
        self.posted.append((body["method"], headers))  # type: ignore[index]
        if self.open_initialize and body["method"] == "initialize":  # type: ignore[index]
            return FakeResponse(200, {"jsonrpc": "2.0", "id": 1, "result": {}}, {"Mcp-Session-Id": "sid-1"})
        return super().post(url, **kw)


def test_a_server_that_lets_initialize_through_is_asked_for_tools_list_for_its_challenge():
    """auth/scope-step-up's server: the 401 (and its scope) comes for tools/list, not for initialize."""
    document = {"resource": MCP, "authorization_servers": [ISSUER], "scopes_supported": ["mcp:profile"]}
    challenge = f'Bearer scope="mcp:basic", resource_metadata="{PRM_URL}"'
    session = PerMethodSession({PRM_URL: document, AS_URL: as_metadata()}, challenge)
    assert discover(session, MCP).scopes == ("mcp:basic",)
    assert [method for method, _ in session.posted] == ["initialize", "tools/list"]
    assert session.posted[1][1]["Mcp-Session-Id"] == "sid-1"


def test_a_challenge_to_initialize_asks_nothing_more():
    document = {"resource": MCP, "authorization_servers": [ISSUER]}
    challenge = f'Bearer scope="mcp:basic", resource_metadata="{PRM_URL}"'
    session = PerMethodSession({PRM_URL: document, AS_URL: as_metadata()}, challenge, open_initialize=False)
    assert discover(session, MCP).scopes == ("mcp:basic",)
    assert [method for method, _ in session.posted] == ["initialize"]


# --- step-up: a 403 insufficient_scope (RFC 6750 §3.1; SEP-2350) ---


def test_a_403_insufficient_scope_names_the_scope_and_the_command_and_is_remembered():
    import anyio
    import httpx2

    from docker_mcp.gateway.backends import HttpStatus

    kept: list[tuple[str, ...]] = []
    status = HttpStatus("notes", kept.append)
    request = httpx2.Request("POST", "https://notes.example/mcp?key=PLANTED-key")
    challenge = 'Bearer error="insufficient_scope", scope="notes:write", resource_metadata="https://x/.well-known"'
    anyio.run(status.hook, httpx2.Response(403, headers={"WWW-Authenticate": challenge}, request=request))
    assert status.failure == (
        "HTTP 403 from https://notes.example/mcp: the token lacks the scope notes:write (insufficient_scope): "
        "run 'docker mcp oauth authorize notes'"
    )
    assert kept == [("notes:write",)]
    anyio.run(status.hook, httpx2.Response(403, request=request))  # a 403 without the challenge: as it was
    assert status.failure == "HTTP 403 from https://notes.example/mcp" and kept == [("notes:write",)]


def test_challenged_scopes_are_kept_in_the_client_record_and_added_once(pass_config):
    from docker_mcp.oauth.clients import DCR, ClientRecord, add_challenged_scopes, load_client, save_client
    from docker_mcp.secrets.store import open_store

    store = open_store(pass_config)
    assert add_challenged_scopes(store, "notes", ("notes:write",)) is False  # no client: nothing to keep
    save_client(store, ClientRecord("notes", DCR, "client-1", scopes=("notes:read",)))
    assert add_challenged_scopes(store, "notes", ("notes:write",))
    assert add_challenged_scopes(store, "notes", ("notes:write", "notes:admin"))
    record = load_client(store, "notes")
    assert record.challenged_scopes == ("notes:write", "notes:admin") and record.scopes == ("notes:read",)
    assert record.to_json()["challengedScopes"] == ["notes:write", "notes:admin"]


def test_a_401_from_a_server_sent_no_token_says_to_authorize_it_and_one_sent_a_token_does_not():
    import anyio
    import httpx2

    from docker_mcp.gateway.backends import HttpStatus

    request = httpx2.Request("POST", "https://plain.example/mcp")
    answer = httpx2.Response(401, headers={"WWW-Authenticate": 'Bearer resource_metadata="x"'}, request=request)
    without = HttpStatus("plain", sends_token=False)
    anyio.run(without.hook, answer)
    assert without.failure == (
        "HTTP 401 from https://plain.example/mcp: it wants an authorization: run 'docker mcp oauth authorize plain'"
    )
    with_token = HttpStatus("plain", sends_token=True)  # its token source says what to do (refresh, expired)
    anyio.run(with_token.hook, answer)
    assert with_token.failure == "HTTP 401 from https://plain.example/mcp"


def test_a_challenge_that_echoes_a_credential_sent_keeps_no_scope_and_a_broken_store_loses_only_that():
    import anyio
    import httpx2

    from docker_mcp.gateway.backends import HttpStatus

    def broken(scopes):
        raise RuntimeError("the credential helper failed")

    token = "PLANTED-access-token-0123456789"
    status = HttpStatus("notes", broken, sent=lambda: (token,))
    request = httpx2.Request("POST", "https://notes.example/mcp")
    for scope, kept in ((token, "more scope"), ("notes:write", "the scope notes:write")):
        challenge = f'Bearer error="insufficient_scope", scope="{scope}"'
        anyio.run(status.hook, httpx2.Response(403, headers={"WWW-Authenticate": challenge}, request=request))
        assert status.failure.endswith(f"lacks {kept} (insufficient_scope): run 'docker mcp oauth authorize notes'")
        assert token not in status.failure
