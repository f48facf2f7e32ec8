"""Refresh against the real oidc-provider, tokens in the real docker-credential-pass: a short access-token
lifetime, 20 concurrent callers and one refresh request, the client secret used, rotation, and the
message when the grant is gone."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from docker_mcp.catalog.schema import parse_document
from docker_mcp.catalog.yamldoc import load
from docker_mcp.oauth.clients import load_client
from docker_mcp.oauth.errors import NotAuthorizedError
from docker_mcp.oauth.flow import AuthorizeOptions, authorize, secret_lookup
from docker_mcp.oauth.token_endpoint import oauth_session
from docker_mcp.oauth.tokens import Refresher, load_token, save_token
from docker_mcp.secrets.resolver import SecretSources
from docker_mcp.secrets.store import open_store
from tests.e2e.oauth_support import free_port, remote_entry
from tests.helpers.oidc import start_oidc, token_request
from tests.servers.protected_resource import ProtectedResource

HELPERS = Path(__file__).resolve().parent.parent / "helpers"
SECRET = "PLANTED-refresh-client-secret"


@pytest.fixture
def authorized(pass_config, tmp_path, monkeypatch):
    """A server authorized in-process with a confidential client; yields (server, store, sources, oidc)."""
    monkeypatch.setenv("DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS", "1")
    monkeypatch.setenv("BROWSER", f"{sys.executable} {HELPERS / 'browser_approve.py'} %s")
    monkeypatch.setenv("BROWSER_LOG", str(tmp_path / "browser.jsonl"))
    monkeypatch.setenv("REMOTE_SECRET", SECRET)
    port = free_port()
    with ProtectedResource() as resource:
        client = {
            "client_id": "app",
            "client_secret": SECRET,
            "token_endpoint_auth_method": "client_secret_post",
            "redirect_uris": [f"http://127.0.0.1:{port}/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "scope": "mcp:tools",
        }
        config = {"resource": resource.url, "clients": [client], "accessTokenTTL": 30, "rotateRefreshToken": True}
        with start_oidc(tmp_path, config) as oidc:
            resource.authorization_server = oidc.issuer
            text = remote_entry("remote", resource.url, client_id="app", secret=True)
            server = parse_document(load(text, "remote.yaml"), "remote.yaml").servers["remote"]
            store = open_store(pass_config)
            sources = SecretSources("/nonexistent", os.environ, lambda: store)
            options = AuthorizeOptions(open_browser=True, callback_port=port, timeout=30)
            authorize(server, store, sources, options, lambda line: None, lambda line: None)
            yield server, store, sources, oidc, client


def near_its_end(store, record):
    """The stored 30 s token, as it is 5 s before its end: inside its refresh margin (7.5 s, a quarter of
    its lifetime), so the next use refreshes it."""
    import dataclasses
    from datetime import UTC, datetime, timedelta

    token = load_token(store, record)
    assert token.expires_in == 30 and not token.refresh_due(60)  # fresh: used as it is
    token = dataclasses.replace(token, expiry=datetime.now(UTC) + timedelta(seconds=5))
    save_token(store, record, token)
    return token


def refresh_requests(oidc):
    return [q for q in oidc.requests() if q["path"] == "/token" and "refresh_token" in q["body_keys"]]


def test_twenty_concurrent_callers_cause_one_refresh_with_the_client_secret(authorized):
    server, store, sources, oidc, _ = authorized
    record = load_client(store, "remote")
    before = near_its_end(store, record)
    assert before.refresh_due(60)
    refresher = Refresher(store, secret_lookup(server, sources), lambda r: oauth_session(r))
    results, errors = [], []

    def call():
        try:
            results.append(refresher.token("remote").access_token)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    [request] = refresh_requests(oidc)
    # the confidential client authenticates with its secret (Basic: the server advertises it first)
    assert record.token_endpoint_auth_method == "client_secret_basic"
    assert request["auth_scheme"] == "Basic" and request["status"] == 200
    after = load_token(store, record)
    assert set(results) == {after.access_token} and after.access_token != before.access_token
    assert after.refresh_token and after.refresh_token != before.refresh_token  # rotated, and stored

    # after a 401 the caller passes the rejected token and gets a fresh one
    again = refresher.token("remote", rejected=after)
    assert again.access_token != after.access_token and len(refresh_requests(oidc)) == 2


def test_a_revoked_grant_gives_the_authorize_message(authorized):
    server, store, sources, oidc, client = authorized
    record = load_client(store, "remote")
    token = near_its_end(store, record)
    revoked = token_request(oidc.url("/token/revocation"), client, {"token": token.refresh_token})
    assert revoked.status_code == 200
    refresher = Refresher(store, secret_lookup(server, sources), lambda r: oauth_session(r))
    with pytest.raises(NotAuthorizedError) as e:
        refresher.token("remote")
    assert str(e.value) == "authorization for remote expired: run 'docker mcp oauth authorize remote'"
    assert SECRET not in str(e.value) and token.refresh_token not in str(e.value)


def test_a_token_outside_the_margin_is_used_as_it_is(authorized):
    server, store, sources, oidc, _ = authorized
    refresher = Refresher(store, secret_lookup(server, sources), lambda r: oauth_session(r), margin_seconds=5)
    stored = load_token(store, load_client(store, "remote"))
    assert refresher.token("remote").access_token == stored.access_token
    assert refresh_requests(oidc) == []


def test_an_unauthorized_server_says_how_to_authorize(pass_config):
    refresher = Refresher(open_store(pass_config), lambda r: None, lambda r: None)
    with pytest.raises(
        NotAuthorizedError, match=r"never-authorized is not authorized: run 'docker mcp oauth authorize"
    ):
        refresher.token("never-authorized")
