"""The test servers themselves, driven with plain requests (no docker-mcp code): the Slack stand-in
answers as Slack documents, and the MCP SDK's authorization server does what the OAuth tests rely on."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.servers.sdk_auth_server import SdkAuthServer
from tests.servers.slack_standin import SlackStandIn

REDIRECT = "http://127.0.0.1:54321/callback"
SLACK_SCOPES = "search:read.public,chat:write"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(url: str, **params: str) -> dict[str, str]:
    """GET the authorize endpoint; it must redirect to REDIRECT at once. Returns the callback's query."""
    response = requests.get(url, params=params, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == params.get("redirect_uri", REDIRECT)
    return {k: v[0] for k, v in parse_qs(location.query).items()}


# --- Slack stand-in -----------------------------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn("1234.5678", "s3cret", REDIRECT) as server:
        yield server


def slack_code(slack: SlackStandIn, challenge: str, state: str = "st-1") -> str:
    query = authorize(
        slack.authorize_url,
        client_id=slack.client_id,
        redirect_uri=REDIRECT,
        state=state,
        code_challenge=challenge,
        code_challenge_method="S256",
        user_scope=SLACK_SCOPES,
        resource=slack.base_url,
    )
    assert query["state"] == state
    return query["code"]


def slack_token(slack: SlackStandIn, *, auth: tuple[str, str] | None = None, **form: str) -> dict[str, Any]:
    response = requests.post(slack.token_url, data=form, auth=auth, timeout=10)
    assert response.status_code == 200  # Slack's Web API: always 200, success or not
    assert response.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def test_slack_code_flow_with_pkce_and_refresh(slack: SlackStandIn) -> None:
    verifier, challenge = pkce()
    code = slack_code(slack, challenge)
    body = slack_token(
        slack,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=verifier,
        client_id=slack.client_id,
        client_secret=slack.client_secret,
    )
    assert body["ok"] is True
    assert body["token_type"] == "user"
    assert str(body["access_token"]).startswith("xoxp-")
    assert str(body["refresh_token"]).startswith("xoxe-1-")
    assert body["expires_in"] == 43200
    assert body["scope"] == SLACK_SCOPES  # comma-separated, as Slack writes scopes
    assert body["team"] == {"id": "T123", "name": "Stand-in"}
    info = slack.token_info(str(body["access_token"]))
    assert info is not None and info.resource == slack.base_url

    # the code worked once
    again = slack_token(
        slack,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=verifier,
        client_id=slack.client_id,
        client_secret=slack.client_secret,
    )
    assert again == {"ok": False, "error": "invalid_code"}

    # refresh rotates: the new refresh token works, the old one no longer does
    refreshed = slack_token(
        slack,
        grant_type="refresh_token",
        refresh_token=str(body["refresh_token"]),
        client_id=slack.client_id,
        client_secret=slack.client_secret,
    )
    assert refreshed["ok"] is True and refreshed["token_type"] == "user"
    assert refreshed["access_token"] != body["access_token"]
    assert refreshed["refresh_token"] != body["refresh_token"]
    stale = slack_token(
        slack,
        grant_type="refresh_token",
        refresh_token=str(body["refresh_token"]),
        client_id=slack.client_id,
        client_secret=slack.client_secret,
    )
    assert stale == {"ok": False, "error": "invalid_refresh_token"}

    token_requests = [r for r in slack.requests if r.path == "/api/oauth.v2.user.access"]
    assert [r.error for r in token_requests] == [None, "invalid_code", None, "invalid_refresh_token"]
    assert all(r.status == 200 and r.auth is None for r in token_requests)
    assert token_requests[0].has("code_verifier", "client_secret", "redirect_uri")
    assert slack.requests.count(path="/oauth/v2_user/authorize", status=302) == 1


def test_slack_token_errors(slack: SlackStandIn) -> None:
    verifier, challenge = pkce()

    def code_form(code: str, **overrides: str) -> dict[str, str]:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                "code_verifier": verifier, "client_id": slack.client_id, "client_secret": slack.client_secret}  # fmt: skip
        return {**form, **overrides}

    def post(form: dict[str, str], auth: tuple[str, str] | None = None) -> dict[str, Any]:
        return slack_token(slack, auth=auth, **form)

    wrong_secret = post(code_form(slack_code(slack, challenge), client_secret="nope"))
    assert wrong_secret == {"ok": False, "error": "bad_client_secret"}
    assert post(code_form("x", client_id="999")) == {"ok": False, "error": "invalid_client_id"}
    # Basic is not accepted by default (body only): the body has no client_id
    basic_only = {k: v for k, v in code_form("x").items() if k not in ("client_id", "client_secret")}
    assert post(basic_only, auth=(slack.client_id, slack.client_secret)) == {"ok": False, "error": "invalid_client_id"}
    assert slack.requests.snapshot()[-1].auth == "Basic"

    bad_redirect = code_form(slack_code(slack, challenge), redirect_uri=REDIRECT + "/x")
    assert post(bad_redirect) == {"ok": False, "error": "bad_redirect_uri"}
    bad_verifier = code_form(slack_code(slack, challenge), code_verifier="wrong" * 10)
    assert post(bad_verifier) == {"ok": False, "error": "invalid_code"}
    creds = {"client_id": slack.client_id, "client_secret": slack.client_secret}
    assert post({"grant_type": "password", **creds}) == {"ok": False, "error": "invalid_grant_type"}
    assert post({"grant_type": "refresh_token", "refresh_token": "xoxe-1-nope", **creds}) == {
        "ok": False,
        "error": "invalid_refresh_token",
    }
    assert [r.error for r in slack.requests if r.method == "POST"] == [
        "bad_client_secret",
        "invalid_client_id",
        "invalid_client_id",
        "bad_redirect_uri",
        "invalid_code",
        "invalid_grant_type",
        "invalid_refresh_token",
    ]


def test_slack_authorize_rejects_unknown_redirect_uri_and_client_with_an_html_page(slack: SlackStandIn) -> None:
    _, challenge = pkce()
    params = {"client_id": slack.client_id, "state": "s", "code_challenge": challenge,
              "code_challenge_method": "S256", "user_scope": SLACK_SCOPES}  # fmt: skip
    for bad in ({"redirect_uri": "http://127.0.0.1:54322/callback"}, {"redirect_uri": REDIRECT + "/"},
                {"redirect_uri": REDIRECT, "client_id": "999"}):  # fmt: skip
        response = requests.get(slack.authorize_url, params={**params, **bad}, allow_redirects=False, timeout=10)
        assert response.status_code == 200
        assert "Location" not in response.headers
        assert response.headers["Content-Type"].startswith("text/html")
    assert [r.error for r in slack.requests] == ["bad_redirect_uri", "bad_redirect_uri", "invalid_client_id"]


def test_slack_basic_auth_when_configured_and_non_rotating_tokens() -> None:
    with SlackStandIn("cid", "sec", [REDIRECT, "http://localhost:8080/cb"], client_auth="both",
                      rotate_refresh_tokens=False, expires_in=120) as slack:  # fmt: skip
        verifier, challenge = pkce()
        code = slack_code(slack, challenge)
        body = slack_token(slack, auth=("cid", "sec"), grant_type="authorization_code", code=code,
                           redirect_uri=REDIRECT, code_verifier=verifier)  # fmt: skip
        assert body["ok"] is True and body["expires_in"] == 120
        for _ in range(2):  # not rotated: the same refresh token keeps working
            again = slack_token(slack, auth=("cid", "sec"), grant_type="refresh_token",
                                refresh_token=str(body["refresh_token"]))  # fmt: skip
            assert again["ok"] is True and again["refresh_token"] == body["refresh_token"]
        assert slack_token(slack, auth=("cid", "bad"), grant_type="refresh_token", refresh_token="x") == {
            "ok": False,
            "error": "bad_client_secret",
        }
    with SlackStandIn("cid", "sec", REDIRECT, expires_in=None) as slack:
        verifier, challenge = pkce()
        body = slack_token(slack, grant_type="authorization_code", code=slack_code(slack, challenge),
                           redirect_uri=REDIRECT, code_verifier=verifier, client_id="cid", client_secret="sec")  # fmt: skip
        assert body["ok"] is True and "refresh_token" not in body and "expires_in" not in body


# --- the MCP SDK's authorization server ---------------------------------------------------------------


def sdk_metadata(server: SdkAuthServer) -> dict[str, Any]:
    response = requests.get(server.metadata_url, timeout=10)
    assert response.status_code == 200
    metadata: dict[str, Any] = response.json()
    return metadata


def test_sdk_metadata_and_dcr_on() -> None:
    with SdkAuthServer(dcr=True) as server:
        metadata = sdk_metadata(server)
        assert metadata["issuer"] == server.issuer == server.base_url  # no trailing slash
        assert metadata["authorization_endpoint"] == server.authorize_url
        assert metadata["token_endpoint"] == server.token_url
        assert metadata["registration_endpoint"] == server.registration_url
        assert metadata["code_challenge_methods_supported"] == ["S256"]
        assert metadata["token_endpoint_auth_methods_supported"] == ["client_secret_post", "client_secret_basic"]

        registered = requests.post(server.registration_url, json={"redirect_uris": [REDIRECT],
                                   "client_name": "docker-mcp", "grant_types": ["authorization_code",
                                   "refresh_token"]}, timeout=10)  # fmt: skip
        assert registered.status_code == 201, registered.text
        client = registered.json()
        assert client["token_endpoint_auth_method"] == "client_secret_post"
        assert client["client_secret"] and client["client_secret_expires_at"] == 0
        assert client["scope"] == "mcp:read mcp:write"

        verifier, challenge = pkce()
        query = authorize(server.authorize_url, response_type="code", client_id=client["client_id"],
                          redirect_uri=REDIRECT, state="s1", code_challenge=challenge,
                          code_challenge_method="S256", scope="mcp:read")  # fmt: skip
        token = requests.post(server.token_url, data={"grant_type": "authorization_code", "code": query["code"],
                              "redirect_uri": REDIRECT, "code_verifier": verifier, "client_id": client["client_id"],
                              "client_secret": client["client_secret"]}, timeout=10)  # fmt: skip
        assert token.status_code == 200, token.text
        assert token.json()["token_type"] == "Bearer" and token.json()["scope"] == "mcp:read"
        assert server.requests.count(path="/register", method="POST", status=201) == 1
        assert [r.path for r in server.requests] == [
            "/.well-known/oauth-authorization-server",
            "/register",
            "/authorize",
            "/token",
        ]


def test_sdk_dcr_off() -> None:
    with SdkAuthServer(dcr=False) as server:
        assert "registration_endpoint" not in sdk_metadata(server)
        response = requests.post(server.registration_url, json={"redirect_uris": [REDIRECT]}, timeout=10)
        assert response.status_code == 404
        assert server.requests.snapshot()[-1].status == 404
        assert server.registered_clients == []


@pytest.fixture
def sdk_server() -> Iterator[SdkAuthServer]:
    clients = [
        {"client_id": "pre-post", "client_secret": "post-secret", "redirect_uris": [REDIRECT],
         "token_endpoint_auth_method": "client_secret_post"},
        {"client_id": "pre-basic", "client_secret": "basic-secret", "redirect_uris": [REDIRECT],
         "token_endpoint_auth_method": "client_secret_basic"},
        {"client_id": "pre-public", "redirect_uris": [REDIRECT]},
    ]  # fmt: skip
    with SdkAuthServer(dcr=False, clients=clients, resource="/mcp", protected_resource=True) as server:
        yield server


def sdk_code(server: SdkAuthServer, client_id: str, challenge: str, **extra: str) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "state": "st",
              "code_challenge": challenge, "code_challenge_method": "S256", "scope": "mcp:read mcp:write",
              "resource": server.resource or "", **extra}  # fmt: skip
    query = authorize(server.authorize_url, **params)
    assert query["state"] == "st"
    return query["code"]


def test_sdk_preregistered_client_secret_post_with_pkce_resource_and_refresh(sdk_server: SdkAuthServer) -> None:
    server = sdk_server
    verifier, challenge = pkce()
    code = sdk_code(server, "pre-post", challenge)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier,
            "client_id": "pre-post", "client_secret": "post-secret", "resource": server.resource}  # fmt: skip
    response = requests.post(server.token_url, data=form, timeout=10)
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600 and token["refresh_token"]
    info = server.token_info(token["access_token"])
    assert info is not None and info.resource == server.resource == server.base_url + "/mcp"
    assert info.client_id == "pre-post" and info.scopes == ["mcp:read", "mcp:write"]

    # the token opens the protected endpoint; without it, 401 points at the RFC 9728 metadata
    unauthenticated = requests.get(server.resource, timeout=10)
    assert unauthenticated.status_code == 401
    assert f'resource_metadata="{server.resource_metadata_url}"' in unauthenticated.headers["WWW-Authenticate"]
    prm = requests.get(server.resource_metadata_url, timeout=10).json()
    assert prm["resource"] == server.resource and prm["authorization_servers"] == [server.issuer]
    ok = requests.get(server.resource, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)
    assert ok.status_code == 200 and ok.json()["client_id"] == "pre-post"

    # the code worked once
    again = requests.post(server.token_url, data=form, timeout=10)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

    refresh_form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": "pre-post",
                    "client_secret": "post-secret"}  # fmt: skip
    refreshed = requests.post(server.token_url, data=refresh_form, timeout=10)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["access_token"] != token["access_token"]
    assert refreshed.json()["refresh_token"] != token["refresh_token"]
    stale = requests.post(server.token_url, data=refresh_form, timeout=10)
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"

    token_requests = [r for r in server.requests if r.path == "/token"]
    assert [(r.status, r.error) for r in token_requests] == [
        (200, None),
        (400, "invalid_grant"),
        (200, None),
        (400, "invalid_grant"),
    ]
    assert token_requests[0].has("client_secret", "code_verifier", "resource") and token_requests[0].auth is None


def test_sdk_client_authentication_follows_each_clients_method(sdk_server: SdkAuthServer) -> None:
    server = sdk_server
    verifier, challenge = pkce()

    def exchange(client_id: str, auth: tuple[str, str] | None = None, **form: str) -> requests.Response:
        code = sdk_code(server, client_id, challenge)
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier,
                "client_id": client_id, **form}  # fmt: skip
        return requests.post(server.token_url, data=data, auth=auth, timeout=10)

    # client_secret_post: Basic alone is refused with 401 invalid_client, the body works
    refused = exchange("pre-post", auth=("pre-post", "post-secret"))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert exchange("pre-post", client_secret="wrong").status_code == 401
    # client_secret_basic: the body alone is refused, Basic (with client_id still in the body) works
    assert exchange("pre-basic", client_secret="basic-secret").status_code == 401
    assert exchange("pre-basic", auth=("pre-basic", "basic-secret")).status_code == 200
    # none: a public client needs only PKCE
    assert exchange("pre-public").status_code == 200
    # a wrong verifier
    bad = requests.post(server.token_url, data={"grant_type": "authorization_code",
                        "code": sdk_code(server, "pre-public", challenge), "redirect_uri": REDIRECT,
                        "code_verifier": "x" * 50, "client_id": "pre-public"}, timeout=10)  # fmt: skip
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    assert [r.auth for r in server.requests if r.path == "/token"][:1] == ["Basic"]


def test_sdk_authorize_refusals(sdk_server: SdkAuthServer) -> None:
    server = sdk_server
    _, challenge = pkce()
    base = {"response_type": "code", "client_id": "pre-post", "redirect_uri": REDIRECT, "state": "st",
            "code_challenge": challenge, "code_challenge_method": "S256", "resource": server.resource or ""}  # fmt: skip
    # a wrong resource or scope comes back to the redirect URI as an error
    assert authorize(server.authorize_url, **{**base, "resource": "http://127.0.0.1:1/other"})["error"] == (
        "invalid_target"
    )
    assert authorize(server.authorize_url, **{**base, "scope": "admin"})["error"] == "invalid_scope"
    # an unregistered redirect URI or an unknown client is answered directly, 400 JSON, no redirect
    for bad in ({"redirect_uri": "http://127.0.0.1:9/callback"}, {"client_id": "nobody"}):
        response = requests.get(server.authorize_url, params={**base, **bad}, allow_redirects=False, timeout=10)
        assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    # PKCE is mandatory
    no_pkce = {k: v for k, v in base.items() if k != "code_challenge"}
    assert authorize(server.authorize_url, **no_pkce)["error"] == "invalid_request"
    assert [r.error for r in server.requests] == [
        "invalid_target",
        "invalid_scope",
        "invalid_request",
        "invalid_request",
        "invalid_request",
    ]


def test_sdk_issuer_with_a_path() -> None:
    with SdkAuthServer(dcr=True, issuer_path="/as") as server:
        assert server.issuer == server.base_url + "/as"
        inserted = requests.get(server.metadata_url, timeout=10)
        assert server.metadata_url == server.base_url + "/.well-known/oauth-authorization-server/as"
        appended = requests.get(server.issuer + "/.well-known/oauth-authorization-server", timeout=10)
        assert inserted.json() == appended.json()
        assert inserted.json()["issuer"] == server.issuer
        assert inserted.json()["token_endpoint"] == server.base_url + "/as/token"
        registered = requests.post(inserted.json()["registration_endpoint"], json={"redirect_uris": [REDIRECT]},
                                   timeout=10)  # fmt: skip
        assert registered.status_code == 201
        assert requests.get(server.base_url + "/.well-known/oauth-authorization-server", timeout=10).status_code == 404
