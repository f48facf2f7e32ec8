"""Refresh against the Slack stand-in (Slack's answers: HTTP 200 with ok:false on failure, token_type
"user", comma-separated scopes, body-only client credentials, rotating xoxe- refresh tokens), tokens in
the real docker-credential-pass: the rotated refresh token is stored, the old one is dead, and a grant
Slack forgot gives the authorize message."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from docker_mcp.catalog.schema import parse_document
from docker_mcp.catalog.yamldoc import load
from docker_mcp.oauth.clients import load_client
from docker_mcp.oauth.errors import NotAuthorizedError
from docker_mcp.oauth.flow import AuthorizeOptions, authorize, secret_lookup
from docker_mcp.oauth.token_endpoint import oauth_session
from docker_mcp.oauth.tokens import Refresher, load_token
from docker_mcp.secrets.resolver import SecretSources
from docker_mcp.secrets.store import open_store
from tests.e2e.oauth_support import free_port
from tests.e2e.test_oauth_providers import CLIENT_ID, slack_yaml
from tests.servers.slack_standin import SlackStandIn

HELPERS = Path(__file__).resolve().parent.parent / "helpers"
SECRET = "PLANTED-slack-refresh-secret"


@pytest.fixture
def slack_authorized(pass_config, tmp_path, monkeypatch, request):
    monkeypatch.setenv("DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS", "1")
    monkeypatch.setenv("BROWSER", f"{sys.executable} {HELPERS / 'browser_approve.py'} %s")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", SECRET)  # the entry's secret env, from the environment
    port = free_port()
    redirect_uri = f"http://localhost:{port}/callback"
    expires_in = getattr(request, "param", 43200)  # the access tokens' lifetime, seconds
    with SlackStandIn(CLIENT_ID, SECRET, redirect_uri, client_auth="body", expires_in=expires_in) as slack:
        path = slack_yaml(tmp_path, slack, redirect_uri)
        server = parse_document(load(path.read_text(), str(path)), str(path)).servers["slack-official"]
        store = open_store(pass_config)
        sources = SecretSources("/nonexistent", os.environ, lambda: store)
        options = AuthorizeOptions(open_browser=True, callback_port=port, timeout=30)
        authorize(server, store, sources, options, lambda line: None, lambda line: None)
        yield server, store, sources, slack


def test_refresh_rotates_the_slack_refresh_token_and_stores_it(slack_authorized):
    server, store, sources, slack = slack_authorized
    record = load_client(store, "slack-official")
    first = load_token(store, record)
    assert first.refresh_token.startswith("xoxe-1-")
    refresher = Refresher(store, secret_lookup(server, sources), lambda r: oauth_session(r))

    fresh = refresher.token("slack-official", rejected=first)  # as after a 401 from the server

    assert fresh.access_token.startswith("xoxp-") and fresh.access_token != first.access_token
    assert fresh.token_type == "Bearer"  # Slack says "user"
    assert fresh.refresh_token.startswith("xoxe-1-") and fresh.refresh_token != first.refresh_token
    assert load_token(store, record) == fresh  # rotated and stored
    refresh = [q for q in slack.requests.snapshot() if q.path.endswith("oauth.v2.user.access")][-1]
    assert refresh.auth is None and refresh.error is None  # body credentials, as the record remembers
    assert slack.token_info(fresh.access_token) is not None
    import requests

    form = {"grant_type": "refresh_token", "refresh_token": first.refresh_token, "client_id": CLIENT_ID}
    old = requests.post(slack.token_url, data={**form, "client_secret": SECRET}, timeout=10).json()
    assert old == {"ok": False, "error": "invalid_refresh_token"}  # rotation: the old refresh token is dead


def test_a_grant_slack_forgot_gives_the_authorize_message(slack_authorized):
    server, store, sources, slack = slack_authorized
    token = load_token(store, load_client(store, "slack-official"))
    slack.revoke_refresh_tokens()  # the user removed the app
    refresher = Refresher(store, secret_lookup(server, sources), lambda r: oauth_session(r))
    with pytest.raises(NotAuthorizedError) as e:
        refresher.token("slack-official", rejected=token)
    assert str(e.value) == "authorization for slack-official expired: run 'docker mcp oauth authorize slack-official'"
    assert SECRET not in str(e.value) and token.refresh_token not in str(e.value)


@pytest.mark.parametrize("slack_authorized", [45], indirect=True)
def test_a_token_that_lives_45_seconds_is_used_until_its_last_quarter_not_refreshed_at_each_use(slack_authorized):
    server, store, sources, slack = slack_authorized
    first = load_token(store, load_client(store, "slack-official"))
    refresher = Refresher(store, secret_lookup(server, sources), lambda r: oauth_session(r))

    used = [refresher.token("slack-official") for _ in range(8)]  # a tools call's requests, say

    assert all(token == first for token in used)
    token_requests = [q for q in slack.requests.snapshot() if q.path.endswith("oauth.v2.user.access")]
    assert token_requests and all("code" in q.params for q in token_requests)  # the code's exchange only
    assert not [q for q in token_requests if "refresh_token" in q.params]  # no refresh (a 60 s margin made 8)
