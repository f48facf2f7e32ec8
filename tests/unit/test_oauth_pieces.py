"""Edge cases of the OAuth pieces that real servers cannot produce on demand."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from docker_mcp.oauth.callback import CallbackServer, Redirect, choose_redirect
from docker_mcp.oauth.clients import DCR, PRE_REGISTERED, ClientRecord
from docker_mcp.oauth.errors import CallbackError
from docker_mcp.oauth.providers import slack
from docker_mcp.oauth.token_endpoint import auth_methods_to_try
from docker_mcp.oauth.tokens import Token


class FakeResponse:
    def __init__(self, body):
        self._content = json.dumps(body).encode()
        self.status_code = 200

    def json(self):
        return json.loads(self._content)


def test_slack_ok_false_becomes_an_oauth_error_naming_slacks_error():
    r = slack.token_response(FakeResponse({"ok": False, "error": "invalid_code"}))
    assert (r.status_code, r.json()) == (400, {"error": "invalid_code"})


@pytest.mark.parametrize("error", ["bad_client_secret", "invalid_client_id"])
def test_slack_client_errors_count_as_client_authentication_rejections(error):
    assert slack.token_response(FakeResponse({"ok": False, "error": error})).status_code == 401


def test_slack_user_token_is_a_bearer_token_and_other_responses_are_untouched():
    r = slack.token_response(FakeResponse({"ok": True, "access_token": "xoxp-1", "token_type": "user", "scope": "a,b"}))
    assert r.json() == {"access_token": "xoxp-1", "token_type": "Bearer", "scope": "a b"}
    standard = {"access_token": "a", "token_type": "Bearer"}
    assert slack.token_response(FakeResponse(standard)).json() == standard


def record(**kw):
    base = {"server_name": "s", "client_type": PRE_REGISTERED, "client_id": "c"}
    return ClientRecord(**{**base, **kw})


def test_client_authentication_choice():
    assert auth_methods_to_try(record(), ()) == ["none"]
    secret = record(client_secret_ref="s.client_secret")
    assert auth_methods_to_try(secret, ()) == ["client_secret_basic", "client_secret_post"]
    assert auth_methods_to_try(secret, ("client_secret_post",)) == ["client_secret_post"]
    assert auth_methods_to_try(secret, ("client_secret_post", "client_secret_basic")) == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert auth_methods_to_try(record(client_secret_ref="x", token_endpoint_auth_method="client_secret_basic"), ()) == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert auth_methods_to_try(
        record(client_secret_ref="x", token_endpoint_auth_method="client_secret_post"), ("client_secret_basic",)
    ) == ["client_secret_post"]
    assert auth_methods_to_try(record(client_type=DCR, client_secret="issued"), ()) == [
        "client_secret_basic",
        "client_secret_post",
    ]


def test_client_record_round_trip_keeps_the_go_keys_and_never_a_pre_registered_secret_value():
    r = record(client_secret_ref="slack.client_secret", token_endpoint="https://t", authorization_endpoint="https://a")
    data = r.to_json()
    assert data["clientId"] == "c" and data["serverName"] == "s" and data["providerName"] == "s"
    assert data["clientType"] == "pre-registered" and data["clientSecretRef"] == "slack.client_secret"
    assert "clientSecret" not in data
    assert ClientRecord.from_json("s", data).client_secret_ref == "slack.client_secret"
    go_record = {"clientId": "x", "serverName": "notion", "authorizationEndpoint": "https://a"}
    assert ClientRecord.from_json("notion", go_record).client_type == DCR


def test_token_expiry_and_json():
    token = Token.from_response({"access_token": "a", "token_type": "bearer", "expires_in": "120"}, "kept-refresh")
    assert token.token_type == "Bearer" and token.refresh_token == "kept-refresh"
    assert not token.expires_within(60) and token.expires_within(180)
    data = token.to_json()
    assert data["expiry"].endswith("Z")
    assert Token.from_json(data).expiry == token.expiry
    assert Token.from_json({"access_token": "a", "expiry": "0001-01-01T00:00:00Z"}).expiry is None
    assert "PLANTED" not in repr(Token("PLANTED-access", refresh_token="PLANTED-refresh"))
    assert data["expires_in"] == 120 and Token.from_json(data) == token  # the lifetime is kept, as Go keeps it


def test_the_refresh_margin_is_60_seconds_or_a_quarter_of_a_shorter_lifetime():
    from datetime import UTC, datetime, timedelta

    issued = datetime.now(UTC)
    short = Token.from_response({"access_token": "a", "expires_in": 45})  # 11.25 s margin
    assert short.expires_in == 45
    assert not short.refresh_due(60, now=issued) and not short.refresh_due(60, now=issued + timedelta(seconds=30))
    assert short.refresh_due(60, now=issued + timedelta(seconds=34))
    hour = Token.from_response({"access_token": "a", "expires_in": 3600})  # 60 s margin
    assert not hour.refresh_due(60, now=issued + timedelta(seconds=3530))
    assert hour.refresh_due(60, now=issued + timedelta(seconds=3541))
    unknown = Token("a", expiry=issued + timedelta(seconds=45))  # stored without its lifetime: 60 s
    assert unknown.expires_in is None and unknown.refresh_due(60, now=issued)
    assert not Token("a").refresh_due(60)  # no expiry: never due
    assert Token.from_json({"access_token": "a", "expires_in": True}).expires_in is None


def test_redirect_choice(monkeypatch):
    monkeypatch.delenv("MCP_GATEWAY_OAUTH_PORT", raising=False)
    assert choose_redirect(None, None).uri == "http://127.0.0.1:54321/callback"
    assert choose_redirect(None, 6000).uri == "http://127.0.0.1:6000/callback"
    monkeypatch.setenv("MCP_GATEWAY_OAUTH_PORT", "7000")
    assert choose_redirect(None, None).port == 7000
    assert choose_redirect(None, 6000).port == 6000
    warnings = []
    monkeypatch.setenv("MCP_GATEWAY_OAUTH_PORT", "80")
    assert choose_redirect(None, None, warnings.append).port == 54321 and "MCP_GATEWAY_OAUTH_PORT" in warnings[0]
    r = choose_redirect("http://localhost:3118/slack/callback", 6000)
    assert (r.host, r.port, r.path) == ("localhost", 3118, "/slack/callback")


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_callback_ignores_a_wrong_state_and_takes_the_right_one():
    port = free_port()
    with CallbackServer(Redirect(f"http://127.0.0.1:{port}/callback", "127.0.0.1", port, "/callback"), "S1") as cb:
        base = f"http://127.0.0.1:{port}"
        assert requests.get(f"{base}/callback?code=x&state=WRONG").status_code == 400
        assert requests.get(f"{base}/callback?code=x").status_code == 400
        assert requests.get(f"{base}/elsewhere?code=x&state=S1").status_code == 404
        with ThreadPoolExecutor(1) as pool:  # the code's request is answered once the flow calls finish()
            ok = pool.submit(requests.get, f"{base}/callback?code=THE-CODE&state=S1", timeout=10)
            assert cb.wait(5) == "THE-CODE"
            assert requests.get(f"{base}/callback?code=again&state=S1").status_code == 400  # single use
            cb.finish(True)
            assert ok.result().status_code == 200 and "Authorization Successful" in ok.result().text


def test_callback_reports_access_denied_and_times_out():
    port = free_port()
    with CallbackServer(Redirect("u", "127.0.0.1", port, "/callback"), "S") as cb:
        requests.get(f"http://127.0.0.1:{port}/callback?state=S&error=access_denied&error_description=User+said+no")
        with pytest.raises(CallbackError, match="authorization failed: access_denied - User said no"):
            cb.wait(1)
    with (
        CallbackServer(Redirect("u", "127.0.0.1", port, "/callback"), "S") as cb,
        pytest.raises(CallbackError, match=r"no authorization callback within 0\.2 s"),
    ):
        cb.wait(0.2)


def test_callback_port_in_use_gives_the_multi_line_help():
    port = free_port()
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        with pytest.raises(CallbackError) as e:
            CallbackServer(Redirect("u", "127.0.0.1", port, "/callback"), "S").start()
    assert str(e.value).startswith(f"OAuth callback port {port} is already in use.\n\nSolutions:")


def test_refresher_single_flight(tmp_path):
    from docker_mcp.oauth.clients import save_client
    from docker_mcp.oauth.tokens import Refresher, load_token, save_token

    store = MemoryStore()
    rec = record(authorization_endpoint="https://a/authorize", token_endpoint="https://a/token")
    save_client(store, rec)
    save_token(store, rec, Token("old", refresh_token="r1", expiry=datetime.now(UTC) + timedelta(seconds=5)))
    calls = []

    class FakeRefresher(Refresher):
        def _refresh(self, record, token):
            calls.append(token.refresh_token)
            threading.Event().wait(0.2)
            new = Token("new", refresh_token="r2", expiry=datetime.now(UTC) + timedelta(hours=1))
            save_token(self.store, record, new)
            return new

    refresher = FakeRefresher(store, lambda r: None, lambda r: None)
    results = []
    threads = [threading.Thread(target=lambda: results.append(refresher.token("s").access_token)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["r1"] and results == ["new"] * 20
    assert load_token(store, rec).access_token == "new"


class MemoryStore:
    """The credential-store interface in memory: for edge cases only; the real helper is tested elsewhere."""

    description = "memory"

    def __init__(self):
        self.entries = {}

    def get(self, key):
        from docker_mcp.secrets.store import Credential

        found = self.entries.get(key)
        return Credential(*found) if found else None

    def put(self, key, username, secret):
        self.entries[key] = (username, secret)

    def delete(self, key):
        return self.entries.pop(key, None) is not None

    def list(self, prefix="", suffix=""):
        return {k: v[0] for k, v in self.entries.items() if k.startswith(prefix) and k.endswith(suffix)}
