"""Every OAuth request against loopback servers that misbehave on purpose, in-process: a 307 to another
host (which must receive nothing), a body that never ends, one byte at a time past the deadline, and a
refresh that stalls while other callers wait for the per-server token lock. Also the catalog download,
which shares the deadline and follows redirects for its GET only."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
from tests.unit.test_oauth_pieces import MemoryStore

SECRET = "PLANTED-hostile-client-secret"
REFRESH = "PLANTED-hostile-refresh-token"
DEADLINE = 2.0


class Hostile:
    """A loopback HTTP server answering each path as `routes` says: ("redirect", url), ("endless",),
    ("drip", seconds_per_byte), ("json", status, body). It records every request (path and body) and
    how many body bytes it managed to send."""

    def __init__(self, host: str = "127.0.0.1", routes: dict[str, tuple[Any, ...]] | None = None) -> None:
        self.routes = routes or {}
        self.requests: list[tuple[str, bytes]] = []
        self.sent = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def handle_any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append((self.path, body))
                route = outer.routes.get(self.path.partition("?")[0], ("json", 404, {"error": "not_found"}))
                with contextlib.suppress(OSError):  # the client hung up: that is the point
                    outer.answer(self, route)

            do_GET = do_POST = handle_any

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"

    def answer(self, h: BaseHTTPRequestHandler, route: tuple[Any, ...]) -> None:
        kind = route[0]
        if kind == "redirect":
            h.send_response(307)
            h.send_header("Location", route[1])
            h.send_header("Content-Length", "0")
            h.end_headers()
        elif kind == "endless":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.end_headers()
            h.wfile.write(b'{"issuer": "')
            for _ in range(100_000):  # 6 GiB at most: bounded, and far past any cap
                h.wfile.write(b"a" * 65536)
                self.sent += 65536
        elif kind == "drip":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", "1000")
            h.end_headers()
            for _ in range(1000):
                h.wfile.write(b" ")
                h.wfile.flush()
                self.sent += 1
                time.sleep(route[1])
        else:
            data = json.dumps(route[2]).encode()
            h.send_response(route[1])
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)

    def __enter__(self) -> Hostile:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def loopback_allowed(monkeypatch):
    monkeypatch.setenv("DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS", "1")
    monkeypatch.setenv("DOCKER_MCP_HTTP_TIMEOUT", str(DEADLINE))


@contextmanager
def other_host() -> Iterator[Hostile]:
    """The host a redirect points at: it must never hear from us."""
    with Hostile("127.0.0.2", {"/steal": ("json", 200, {"access_token": "STOLEN", "token_type": "Bearer"})}) as h:
        yield h


def record(server: Hostile, **kw: Any) -> ClientRecord:
    fields: dict[str, Any] = {
        "server_name": "hostile",
        "client_type": PRE_REGISTERED,
        "client_id": "app",
        "client_secret_ref": "hostile.client_secret",
        "token_endpoint_auth_method": "client_secret_post",
        "authorization_endpoint": server.url + "/authorize",
        "token_endpoint": server.url + "/token",
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
    with other_host() as thief, Hostile() as server:
        server.routes["/token"] = ("redirect", thief.url + "/steal")
        rec = record(server)
        with pytest.raises(TokenError) as e:
            exchange_code(started_session(rec), rec, "the-code", secret_for)
        assert "answered with a redirect (HTTP 307), which is not followed" in str(e.value)
        assert thief.requests == []
        assert len(server.requests) == 1 and SECRET.encode() in server.requests[0][1]  # sent once, to the endpoint
        assert SECRET not in str(e.value) and "the-code" not in str(e.value)


def stored_expired_token(store: MemoryStore, rec: ClientRecord) -> None:
    save_client(store, rec)
    save_token(
        store, rec, Token("old-access", refresh_token=REFRESH, expiry=Token.from_response({"expires_in": -1}).expiry)
    )


def test_refresh_refuses_a_redirect_and_sends_nothing_to_the_other_host():
    with other_host() as thief, Hostile() as server:
        server.routes["/token"] = ("redirect", thief.url + "/steal")
        store, rec = MemoryStore(), record(server)
        stored_expired_token(store, rec)
        with pytest.raises(TokenError, match="answered with a redirect"):
            Refresher(store, secret_for, oauth_session).token("hostile")
        assert thief.requests == []


def test_registration_refuses_a_redirect():
    with other_host() as thief, Hostile() as server:
        server.routes["/register"] = ("redirect", thief.url + "/steal")
        metadata = discovery.AuthorizationServerMetadata(
            issuer=server.url,
            authorization_endpoint=server.url + "/authorize",
            token_endpoint=server.url + "/token",
            registration_endpoint=server.url + "/register",
        )
        found = discovery.Discovery(server.url + "/mcp", server.url, metadata)
        with pytest.raises(RegistrationError, match="answered with a redirect"):
            registration.register(new_session(), "hostile", found, "http://127.0.0.1:54321/callback", ())
        assert thief.requests == []


def test_revocation_refuses_a_redirect_and_still_forgets_the_token():
    with other_host() as thief, Hostile() as server:
        server.routes["/revoke"] = ("redirect", thief.url + "/steal")
        store = MemoryStore()
        rec = record(server, client_type=DCR, client_secret=SECRET, revocation_endpoint=server.url + "/revoke")
        stored_expired_token(store, rec)
        warnings: list[str] = []
        assert flow.revoke("hostile", None, store, None, lambda line: None, warnings.append)  # type: ignore[arg-type]
        assert thief.requests == [] and len(server.requests) == 1
        assert any("answered with a redirect" in w for w in warnings), warnings
        assert store.entries == {}


def test_endless_metadata_stops_discovery_at_the_cap():
    with Hostile() as server:
        server.routes["/.well-known/oauth-authorization-server"] = ("endless",)
        started = time.monotonic()
        with pytest.raises(DiscoveryError, match=r"discovery stopped: .* sent more than 1 MiB"):
            discovery.fetch_authorization_server(new_session(), server.url)
        assert time.monotonic() - started < DEADLINE
        assert server.sent < 64 * 1024 * 1024  # the client hung up long before the server's 6 GiB


def test_endless_token_response_is_refused_at_the_cap():
    with Hostile() as server:
        server.routes["/token"] = ("endless",)
        rec = record(server)
        with pytest.raises(TokenError, match="sent more than 1 MiB"):
            exchange_code(started_session(rec), rec, "the-code", secret_for)


def test_dripping_metadata_is_cut_at_the_deadline_naming_the_url():
    with Hostile() as server:
        server.routes["/.well-known/oauth-authorization-server"] = ("drip", 0.5)
        started = time.monotonic()
        with pytest.raises(DiscoveryError) as e:
            discovery.fetch_authorization_server(new_session(), server.url)
        assert time.monotonic() - started < DEADLINE + 1.5
        assert f"{server.url}/.well-known/oauth-authorization-server gave no complete answer within 2 s" in str(e.value)


def test_redirecting_metadata_urls_are_named_in_the_discovery_error():
    with other_host() as thief, Hostile() as server:
        urls = discovery.authorization_server_metadata_urls(server.url)
        for url in urls:
            server.routes[url.removeprefix(server.url)] = ("redirect", thief.url + "/steal")
        with pytest.raises(DiscoveryError) as e:
            discovery.fetch_authorization_server(new_session(), server.url)
        assert "no authorization server metadata" in str(e.value)
        for url in urls:
            assert f"{url}: answered with a redirect (HTTP 307)" in str(e.value)
        assert thief.requests == []


def test_a_stalled_refresh_releases_the_token_lock_at_the_deadline():
    """A hung refresh holds the server's token lock: with one deadline per request, every waiting caller
    gets an answer within a few deadlines instead of minutes."""
    with Hostile() as server:
        server.routes["/token"] = ("drip", 0.5)
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
    with Hostile() as server:
        server.routes.update(
            {
                "/drip.yaml": ("drip", 0.5),
                "/endless.yaml": ("endless",),
                "/moved.yaml": ("redirect", server.url + "/catalog.yaml"),
                "/catalog.yaml": ("json", 200, {"name": "moved", "registry": {}}),
            }
        )
        with pytest.raises(DockerMcpError, match=r'drip\.yaml": it gave no complete answer within 2 s'):
            importer._fetch(server.url + "/drip.yaml")
        with pytest.raises(DockerMcpError, match="sent more than 8 MiB"):
            importer._fetch(server.url + "/endless.yaml")
        assert json.loads(importer._fetch(server.url + "/moved.yaml"))["name"] == "moved"


def test_refused_responses_say_why_in_one_line():
    with Hostile() as server:
        server.routes["/x"] = ("redirect", "http://127.0.0.2:1/\x1b[2J")
        with pytest.raises(ResponseRefused) as e:
            new_session().post(server.url + "/x", data={"client_secret": SECRET})
        assert e.value.kind == "redirect" and "\x1b" not in str(e.value) and SECRET not in str(e.value)
