"""The OAuth test harness itself, against the real oidc-provider: discovery, the code flow with PKCE and a
resource indicator, refresh, introspection, revocation, dynamic registration, the request log, and the
scripted user agents (requests, and headless Chromium as Python's BROWSER)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from tests.helpers import chromium_approve
from tests.helpers.chromium_approve import chromium_available
from tests.helpers.oidc import pkce_pair, resource_server_client, start_oidc, token_request
from tests.helpers.user_agent import approve, callback_params, deny

HELPERS = Path(__file__).resolve().parent.parent / "helpers"
RESOURCE = "http://127.0.0.1:8811/mcp"
CLIENT_SECRET = "app-secret-" + secrets.token_hex(8)
RS_SECRET = "rs-secret-" + secrets.token_hex(8)


@dataclass
class Callback:
    port: int
    queries: list[dict[str, str]] = field(default_factory=list)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/callback"


@pytest.fixture
def callback() -> Iterator[Callback]:
    """A tiny client callback server on loopback that records each /callback query."""
    record = Callback(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != "/callback":
                self.send_error(404)
                return
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            record.queries.append(query)
            body = b"<html><body>Authorization complete. You can close this window.</body></html>"
            if "error" in query:
                body = b"<html><body>Authorization failed.</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    record.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield record
    server.shutdown()
    server.server_close()
    thread.join(5)


def app_client(redirect_uri: str, method: str = "client_secret_post") -> dict[str, Any]:
    return {
        "client_id": "app",
        "client_secret": CLIENT_SECRET,
        "token_endpoint_auth_method": method,
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "mcp:tools offline_access",
    }


def test_preregistered_client_secret_post_full_flow(tmp_path, callback):
    client = app_client(callback.redirect_uri)
    rs = resource_server_client(secret=RS_SECRET)
    with start_oidc(tmp_path, {"clients": [client, rs], "registration": False, "resource": RESOURCE}) as oidc:
        assert oidc.issuer == f"http://127.0.0.1:{oidc.port}"

        # discovery: RFC 8414 and OpenID, the same document
        rfc8414 = requests.get(oidc.url("/.well-known/oauth-authorization-server"), timeout=10)
        openid = requests.get(oidc.url("/.well-known/openid-configuration"), timeout=10)
        assert rfc8414.status_code == openid.status_code == 200
        meta = rfc8414.json()
        assert meta == openid.json()
        assert meta["issuer"] == oidc.issuer
        assert meta["code_challenge_methods_supported"] == ["S256"]
        assert set(meta["token_endpoint_auth_methods_supported"]) == {
            "client_secret_basic",
            "client_secret_post",
            "none",
        }
        assert meta["revocation_endpoint"] == oidc.url("/token/revocation")
        assert meta["introspection_endpoint"] == oidc.url("/token/introspection")
        assert "registration_endpoint" not in meta
        assert {"mcp:tools", "offline_access"} <= set(meta["scopes_supported"])
        assert meta["response_types_supported"] == ["code"]

        # the authorization request, by hand
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(16)
        url = oidc.authorization_url(
            "app", callback.redirect_uri, code_challenge=challenge, state=state, scope="mcp:tools", resource=RESOURCE
        )
        page = approve(url)
        assert page.status_code == 200
        assert "Authorization complete" in page.text
        assert len(callback.queries) == 1
        query = callback.queries[0]
        assert query["state"] == state
        assert query["iss"] == oidc.issuer  # RFC 9207
        code = query["code"]

        # the code for tokens, client_secret_post with plain requests
        token_endpoint = meta["token_endpoint"]
        exchanged = requests.post(
            token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": callback.redirect_uri,
                "code_verifier": verifier,
                "resource": RESOURCE,
                "client_id": "app",
                "client_secret": CLIENT_SECRET,
            },
            timeout=10,
        )
        assert exchanged.status_code == 200, exchanged.text
        tokens = exchanged.json()
        assert tokens["token_type"] == "Bearer"
        assert tokens["access_token"] and tokens["refresh_token"]
        assert 3590 <= tokens["expires_in"] <= 3600
        assert tokens["scope"] == "mcp:tools"
        assert "id_token" not in tokens  # no openid scope asked

        # a code is single-use
        again = token_request(
            token_endpoint,
            client,
            {"grant_type": "authorization_code", "code": code, "redirect_uri": callback.redirect_uri},
        )
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

        # refresh
        refreshed = requests.post(
            token_endpoint,
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": "app",
                "client_secret": CLIENT_SECRET,
            },
            timeout=10,
        )
        assert refreshed.status_code == 200, refreshed.text
        fresh = refreshed.json()
        assert fresh["access_token"] != tokens["access_token"]
        refresh_token = fresh.get("refresh_token", tokens["refresh_token"])

        # introspection by the resource server (client_secret_basic)
        introspected = requests.post(
            meta["introspection_endpoint"],
            data={"token": fresh["access_token"]},
            auth=("resource-server", RS_SECRET),
            timeout=10,
        )
        assert introspected.status_code == 200, introspected.text
        info = introspected.json()
        assert info["active"] is True
        assert info["aud"] in (RESOURCE, [RESOURCE])
        assert info["client_id"] == "app"
        assert info["sub"] == "alice"
        assert info["scope"] == "mcp:tools"
        assert info["iss"] == oidc.issuer
        assert info["token_type"] == "Bearer"

        # revocation of the refresh token (RFC 7009), by its client
        revoked = requests.post(
            meta["revocation_endpoint"],
            data={
                "token": refresh_token,
                "token_type_hint": "refresh_token",
                "client_id": "app",
                "client_secret": CLIENT_SECRET,
            },
            timeout=10,
        )
        assert revoked.status_code == 200, revoked.text
        dead = token_request(token_endpoint, client, {"grant_type": "refresh_token", "refresh_token": refresh_token})
        assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
        gone = requests.post(
            meta["introspection_endpoint"],
            data={"token": refresh_token},
            auth=("resource-server", RS_SECRET),
            timeout=10,
        )
        assert gone.json() == {"active": False}

        # the request log: paths and parameter names, never values
        log = oidc.requests()
        paths = [entry["path"] for entry in log]
        assert "/.well-known/oauth-authorization-server" in paths
        assert "/.well-known/openid-configuration" in paths
        assert oidc.count("/auth", "GET") >= 1
        assert oidc.count("/interaction/") >= 2  # the login and consent pages and their posts
        assert oidc.count("/token/introspection") == 2
        assert oidc.count("/token/revocation") == 1
        first_token = next(entry for entry in log if entry["path"] == "/token")
        assert first_token["method"] == "POST"
        assert first_token["auth_scheme"] is None
        assert first_token["status"] == 200
        assert {"grant_type", "code", "code_verifier", "resource", "client_id", "client_secret"} <= set(
            first_token["body_keys"]
        )
        auth_request = next(entry for entry in log if entry["path"] == "/auth")
        assert {"code_challenge", "code_challenge_method", "resource", "state"} <= set(auth_request["query_keys"])
        introspections = [entry for entry in log if entry["path"] == "/token/introspection"]
        assert all(entry["auth_scheme"] == "Basic" for entry in introspections)
        text = oidc.log_text()
        for value in (
            CLIENT_SECRET,
            RS_SECRET,
            code,
            verifier,
            state,
            tokens["access_token"],
            tokens["refresh_token"],
            fresh["access_token"],
            refresh_token,
        ):
            assert value not in text


def test_pkce_is_required_for_a_confidential_client_and_deny_reaches_the_callback(tmp_path, callback):
    client = app_client(callback.redirect_uri, method="client_secret_basic")
    with start_oidc(tmp_path, {"clients": [client], "resource": RESOURCE}) as oidc:
        no_pkce = oidc.authorization_url("app", callback.redirect_uri, code_challenge=None, state="s1")
        params = callback_params(approve(no_pkce, follow_callback=False))
        assert params["error"] == "invalid_request"
        assert "PKCE" in params["error_description"]

        _, challenge = pkce_pair()
        url = oidc.authorization_url("app", callback.redirect_uri, code_challenge=challenge, state="s2")
        page = deny(url)
        assert page.status_code == 200
        assert callback.queries[-1]["error"] == "access_denied"
        assert callback.queries[-1]["state"] == "s2"

        # an unknown resource indicator is refused
        other = oidc.authorization_url(
            "app", callback.redirect_uri, code_challenge=challenge, state="s3", resource="http://127.0.0.1:1/other"
        )
        assert callback_params(approve(other, follow_callback=False))["error"] == "invalid_target"

        # get_tokens: a whole flow with client_secret_basic and no callback server involved
        before = len(callback.queries)
        tokens = oidc.get_tokens(client)
        assert tokens["access_token"] and tokens["refresh_token"]
        assert len(callback.queries) == before
        basic = [e for e in oidc.requests() if e["path"] == "/token" and e["status"] == 200]
        assert basic[-1]["auth_scheme"] == "Basic"
        assert "client_secret" not in basic[-1]["body_keys"]


def test_dynamic_registration(tmp_path, callback):
    with start_oidc(tmp_path, {"registration": True, "resource": RESOURCE, "accessTokenTTL": 120}) as oidc:
        meta = oidc.metadata()
        assert meta["registration_endpoint"] == oidc.url("/reg")
        base = {
            "client_name": "docker-mcp test",
            "redirect_uris": [callback.redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "scope": "mcp:tools",
        }
        public = requests.post(
            meta["registration_endpoint"], json={**base, "token_endpoint_auth_method": "none"}, timeout=10
        )
        assert public.status_code == 201, public.text
        public_client = public.json()
        assert public_client["client_id"]
        assert "client_secret" not in public_client
        assert public_client["token_endpoint_auth_method"] == "none"

        confidential = requests.post(
            meta["registration_endpoint"],
            json={**base, "token_endpoint_auth_method": "client_secret_basic"},
            timeout=10,
        )
        assert confidential.status_code == 201, confidential.text
        secret_client = confidential.json()
        assert secret_client["client_secret"]
        assert secret_client["token_endpoint_auth_method"] == "client_secret_basic"

        # the public client through the whole flow: refresh token without offline_access, TTL from config
        tokens = oidc.get_tokens(public_client)
        assert tokens["refresh_token"]
        assert 110 <= tokens["expires_in"] <= 120
        refreshed = token_request(
            meta["token_endpoint"],
            public_client,
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["refresh_token"] != tokens["refresh_token"]  # rotated for public clients

        registration = next(e for e in oidc.requests() if e["path"] == "/reg")
        assert registration["status"] == 201
        assert "token_endpoint_auth_method" in registration["body_keys"]
        assert secret_client["client_secret"] not in oidc.log_text()


def test_browser_env_with_python_webbrowser(tmp_path, callback):
    """BROWSER="python browser_approve.py %s": webbrowser splits it with shlex and runs it with the URL."""
    client = app_client(callback.redirect_uri)
    with start_oidc(tmp_path, {"clients": [client], "resource": RESOURCE}) as oidc:
        _, challenge = pkce_pair()
        url = oidc.authorization_url("app", callback.redirect_uri, code_challenge=challenge, state="via-browser")
        log = tmp_path / "browser.jsonl"
        env = {"BROWSER": f"{sys.executable} {HELPERS / 'browser_approve.py'} %s", "BROWSER_LOG": str(log)}
        opened = subprocess.run(
            [sys.executable, "-c", "import sys, webbrowser; sys.exit(0 if webbrowser.open(sys.argv[1]) else 1)", url],
            env={**_base_env(), **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert opened.returncode == 0, opened.stderr
        assert callback.queries[-1]["state"] == "via-browser" and callback.queries[-1]["code"]
        record = json.loads(log.read_text().splitlines()[-1])
        assert record["ok"] is True and record["agent"] == "requests"
        assert record["status"] == 200 and "Authorization complete" in record["body"]
        assert record["callback"] == callback.redirect_uri
        assert record["callback_query"]["code"] == "<redacted>"


@pytest.mark.skipif(not chromium_available(), reason="needs Debian's chromium and the playwright package")
def test_chromium_approve_as_browser(tmp_path, callback):
    client = app_client(callback.redirect_uri)
    with start_oidc(tmp_path, {"clients": [client], "resource": RESOURCE}) as oidc:
        verifier, challenge = pkce_pair()
        url = oidc.authorization_url("app", callback.redirect_uri, code_challenge=challenge, state="via-chromium")
        log = tmp_path / "chromium.jsonl"
        env = {"BROWSER": f"{sys.executable} {HELPERS / 'chromium_approve.py'} %s", "BROWSER_LOG": str(log)}
        opened = subprocess.run(
            [sys.executable, "-c", "import sys, webbrowser; sys.exit(0 if webbrowser.open(sys.argv[1]) else 1)", url],
            env={**_base_env(), **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        record = json.loads(log.read_text().splitlines()[-1]) if log.exists() else {}
        assert opened.returncode == 0, (opened.stderr, record)
        assert record["ok"] is True and record["agent"] == "chromium"
        assert record["status"] == 200 and "Authorization complete" in record["body"]
        query = callback.queries[-1]
        assert query["state"] == "via-chromium"
        exchanged = token_request(
            oidc.url("/token"),
            client,
            {
                "grant_type": "authorization_code",
                "code": query["code"],
                "redirect_uri": callback.redirect_uri,
                "code_verifier": verifier,
                "resource": RESOURCE,
            },
        )
        assert exchanged.status_code == 200, exchanged.text
        assert oidc.count("/interaction/") >= 2

        # in-process, cancelling at the consent page
        url = oidc.authorization_url("app", callback.redirect_uri, code_challenge=challenge, state="chromium-deny")
        result = chromium_approve.approve(url, action="deny")
        assert result["status"] == 200 and "Authorization failed" in result["body"]
        assert result["callback_query"]["error"] == "access_denied"
        assert callback.queries[-1]["state"] == "chromium-deny"


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("BROWSER")}
