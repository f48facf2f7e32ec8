"""Every OAuth request against loopback servers that misbehave on purpose, in-process: a 307 to another
host (which must receive nothing), a body that never ends, one byte at a time past the deadline, and a
refresh that stalls while other callers wait for the per-server token lock. Also the catalog download,
which shares the deadline and follows redirects for its GET only."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest

from docker_mcp.bounded_http import ResponseRefused
from docker_mcp.catalog import importer
from docker_mcp.errors import DockerMcpError
from docker_mcp.oauth import discovery, flow, registration
from docker_mcp.oauth.clients import DCR, PRE_REGISTERED, ClientRecord, save_client
from docker_mcp.oauth.errors import DiscoveryError, NotAuthorizedError, RegistrationError, TokenError
from docker_mcp.oauth.http import new_session
from docker_mcp.oauth.token_endpoint import exchange_code, oauth_session
from docker_mcp.oauth.tokens import Refresher, Token, save_token
from tests.servers.hostile import HostileServer
from tests.unit.test_oauth_pieces import MemoryStore

SECRET = "PLANTED-hostile-client-secret"
REFRESH = "PLANTED-hostile-refresh-token"
DEADLINE = 2.0


@pytest.fixture(autouse=True)
def loopback_allowed(monkeypatch):
    monkeypatch.setenv("DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS", "1")
    monkeypatch.setenv("DOCKER_MCP_HTTP_TIMEOUT", str(DEADLINE))


@contextmanager
def other_host() -> Iterator[HostileServer]:
    """The host a redirect points at: it must never hear from us."""
    with HostileServer("127.0.0.2") as h:
        h.json("/steal", {"access_token": "STOLEN", "token_type": "Bearer"})
        yield h


def record(server: HostileServer, **kw: Any) -> ClientRecord:
    fields: dict[str, Any] = {
        "server_name": "hostile",
        "client_type": PRE_REGISTERED,
        "client_id": "app",
        "client_secret_ref": "hostile.client_secret",
        "token_endpoint_auth_method": "client_secret_post",
        "authorization_endpoint": server.url("/authorize"),
        "token_endpoint": server.url("/token"),
        "redirect_uri": "http://127.0.0.1:54321/callback",
        **kw,
    }
    return ClientRecord(**fields)


def secret_for(_: ClientRecord) -> str:
    return SECRET


def started_session(rec: ClientRecord) -> Any:
    """The session as authorize leaves it for the code exchange: PKCE verifier made."""
    session = oauth_session(rec)
    session.authorization_url(rec.authorization_endpoint)
    return session


def test_code_exchange_refuses_a_redirect_and_sends_nothing_to_the_other_host():
    with other_host() as thief, HostileServer() as server:
        server.redirect("/token", thief.url("/steal"))
        rec = record(server)
        with pytest.raises(TokenError) as e:
            exchange_code(started_session(rec), rec, "the-code", secret_for)
        assert "answered with a redirect (HTTP 307), which is not followed" in str(e.value)
        assert thief.connections == 0
        assert len(server.requests) == 1 and SECRET.encode() in server.requests[0].body  # sent once, to the endpoint
        assert SECRET not in str(e.value) and "the-code" not in str(e.value)


def stored_expired_token(store: MemoryStore, rec: ClientRecord) -> None:
    save_client(store, rec)
    save_token(
        store, rec, Token("old-access", refresh_token=REFRESH, expiry=Token.from_response({"expires_in": -1}).expiry)
    )


def test_refresh_refuses_a_redirect_and_sends_nothing_to_the_other_host():
    with other_host() as thief, HostileServer() as server:
        server.redirect("/token", thief.url("/steal"))
        store, rec = MemoryStore(), record(server)
        stored_expired_token(store, rec)
        with pytest.raises(TokenError, match="answered with a redirect"):
            Refresher(store, secret_for, oauth_session).token("hostile")
        assert thief.connections == 0


def test_registration_refuses_a_redirect():
    with other_host() as thief, HostileServer() as server:
        server.redirect("/register", thief.url("/steal"))
        metadata = discovery.AuthorizationServerMetadata(
            issuer=server.base_url,
            authorization_endpoint=server.url("/authorize"),
            token_endpoint=server.url("/token"),
            registration_endpoint=server.url("/register"),
        )
        found = discovery.Discovery(server.url("/mcp"), server.base_url, metadata)
        with pytest.raises(RegistrationError, match="answered with a redirect"):
            registration.register(new_session(), "hostile", found, "http://127.0.0.1:54321/callback", ())
        assert thief.connections == 0


def test_revocation_refuses_a_redirect_and_still_forgets_the_token():
    with other_host() as thief, HostileServer() as server:
        server.redirect("/revoke", thief.url("/steal"))
        store = MemoryStore()
        rec = record(server, client_type=DCR, client_secret=SECRET, revocation_endpoint=server.url("/revoke"))
        stored_expired_token(store, rec)
        warnings: list[str] = []
        assert flow.revoke("hostile", None, store, None, lambda line: None, warnings.append)  # type: ignore[arg-type]
        assert thief.connections == 0 and len(server.requests) == 1
        assert any("answered with a redirect" in w for w in warnings), warnings
        assert store.entries == {}


def test_endless_metadata_stops_discovery_at_the_cap():
    with HostileServer() as server:
        server.endless("/.well-known/oauth-authorization-server")
        started = time.monotonic()
        with pytest.raises(DiscoveryError, match=r"discovery stopped: .* sent more than 1 MiB"):
            discovery.fetch_authorization_server(new_session(), server.base_url)
        assert time.monotonic() - started < DEADLINE
        assert (
            server.bytes_sent("/.well-known/oauth-authorization-server") < 64 * 1024 * 1024
        )  # the client hung up long before the server's limit


def test_endless_token_response_is_refused_at_the_cap():
    with HostileServer() as server:
        server.endless("/token")
        rec = record(server)
        with pytest.raises(TokenError, match="sent more than 1 MiB"):
            exchange_code(started_session(rec), rec, "the-code", secret_for)


def test_dripping_metadata_is_cut_at_the_deadline_naming_the_url():
    with HostileServer() as server:
        server.drip("/.well-known/oauth-authorization-server", b" " * 1000, 0.5)
        started = time.monotonic()
        with pytest.raises(DiscoveryError) as e:
            discovery.fetch_authorization_server(new_session(), server.base_url)
        assert time.monotonic() - started < DEADLINE + 1.5
        assert f"{server.base_url}/.well-known/oauth-authorization-server gave no complete answer within 2 s" in str(
            e.value
        )


def test_redirecting_metadata_urls_are_named_in_the_discovery_error():
    with other_host() as thief, HostileServer() as server:
        urls = discovery.authorization_server_metadata_urls(server.base_url)
        for url in urls:
            server.redirect(url.removeprefix(server.base_url), thief.url("/steal"))
        with pytest.raises(DiscoveryError) as e:
            discovery.fetch_authorization_server(new_session(), server.base_url)
        assert "no authorization server metadata" in str(e.value)
        for url in urls:
            assert f"{url}: answered with a redirect (HTTP 307)" in str(e.value)
        assert thief.connections == 0


def test_a_stalled_refresh_releases_the_token_lock_at_the_deadline():
    """A hung refresh holds the server's token lock: with one deadline per request, every waiting caller
    gets an answer within a few deadlines instead of minutes."""
    with HostileServer() as server:
        server.drip("/token", b" " * 1000, 0.5)
        store, rec = MemoryStore(), record(server)
        stored_expired_token(store, rec)
        refresher = Refresher(store, secret_for, oauth_session)
        outcomes: list[str] = []

        def call() -> None:
            try:
                refresher.token("hostile")
                outcomes.append("token")
            except (TokenError, NotAuthorizedError) as e:
                outcomes.append(str(e))

        started = time.monotonic()
        callers = [threading.Thread(target=call) for _ in range(3)]
        for t in callers:
            t.start()
        for t in callers:
            t.join(timeout=30)
        assert len(outcomes) == 3
        assert all("gave no complete answer within 2 s" in o for o in outcomes), outcomes
        assert time.monotonic() - started < 3 * DEADLINE + 3  # one deadline per caller, one after another


def test_catalog_download_has_the_deadline_and_the_cap_and_follows_a_redirect():
    with HostileServer() as server:
        server.drip("/drip.yaml", b" " * 1000, 0.5)
        server.endless("/endless.yaml")
        server.redirect("/moved.yaml", server.url("/catalog.yaml"))
        server.json("/catalog.yaml", {"name": "moved", "registry": {}})
        with pytest.raises(DockerMcpError, match=r'drip\.yaml": it gave no complete answer within 2 s'):
            importer._fetch(server.url("/drip.yaml"))
        with pytest.raises(DockerMcpError, match="sent more than 8 MiB"):
            importer._fetch(server.url("/endless.yaml"))
        assert json.loads(importer._fetch(server.url("/moved.yaml")))["name"] == "moved"


def test_refused_responses_say_why_in_one_line():
    with HostileServer() as server:
        server.redirect("/x", "http://127.0.0.2:1/\x1b[2J")
        with pytest.raises(ResponseRefused) as e:
            new_session().post(server.url("/x"), data={"client_secret": SECRET})
        assert e.value.kind == "redirect" and "\x1b" not in str(e.value) and SECRET not in str(e.value)


def test_metadata_nested_past_the_parser_is_not_a_json_object():
    with HostileServer() as server:
        server.json("/.well-known/oauth-authorization-server", b"[" * 50000)
        with pytest.raises(DiscoveryError, match="is not a JSON object"):
            discovery.fetch_authorization_server(new_session(), server.base_url)


def test_a_registered_client_for_another_url_is_not_reused_after_the_catalog_changes_the_url():
    """A stored DCR client (and its resource) for the URL the server had; the catalog now gives another:
    authorize registers anew with the new server's authorization server instead of reusing it."""
    from docker_mcp.catalog.schema import parse_document
    from docker_mcp.catalog.yamldoc import load
    from docker_mcp.oauth.flow import AuthorizeOptions, _choose_client
    from tests.e2e.oauth_support import remote_entry

    with HostileServer() as new:
        new.protected_resource("/mcp")
        new.authorization_server_metadata(registration_endpoint=new.url("/register"))
        new.json("/register", {"client_id": "new-client", "token_endpoint_auth_method": "none"}, 201)
        server = parse_document(load(remote_entry("dcr2", new.url("/mcp")), "x.yaml"), "x.yaml").servers["dcr2"]
        redirect = "http://127.0.0.1:54321/callback"
        old = record(new, client_type=DCR, client_id="old-client", client_secret_ref="", redirect_uri=redirect)
        old = replace(old, resource_url="http://127.0.0.1:1/mcp")
        said: list[str] = []
        chosen, _ = _choose_client(
            server, new.url("/mcp"), redirect, old, new_session(), MemoryStore(), AuthorizeOptions(), said.append
        )
        assert chosen.client_id == "new-client" and chosen.resource_url == new.url("/mcp")
        assert said[0] == "Registering again: the registered client was for http://127.0.0.1:1/mcp", said
        same, _ = _choose_client(
            server, new.url("/mcp"), redirect, chosen, new_session(), MemoryStore(), AuthorizeOptions(), said.append
        )
        assert same.client_id == "new-client" and len(new.received("/register")) == 1
