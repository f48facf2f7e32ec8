"""`docker mcp oauth authorize` through the real docker CLI, against oidc-provider, with tokens in the real
docker-credential-pass and the browser step done by a scripted user agent (and once by headless Chromium)."""

from __future__ import annotations

import secrets

import pytest

from tests.e2e.oauth_support import free_port, remote_entry
from tests.helpers.oidc import start_oidc
from tests.servers.protected_resource import ProtectedResource

PLANTED_SECRET = "PLANTED-client-secret-" + secrets.token_hex(8)
SERVER = "slack-official"  # the walkthrough's server name; an oidc-provider stands in for Slack here


def client(port: int, method: str, client_id: str = "pre-registered-app") -> dict:
    c = {
        "client_id": client_id,
        "token_endpoint_auth_method": method,
        "redirect_uris": [f"http://127.0.0.1:{port}/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "mcp:tools",
    }
    if method != "none":
        c["client_secret"] = PLANTED_SECRET
    return c


ALL = ["client_secret_basic", "client_secret_post", "none"]
CASES = {
    # name: (registration on, server's advertised auth methods, registered client's method (None: DCR),
    #        catalog has credentials, the method authorize uses)
    "a-post-only-no-dcr": (False, ["client_secret_post"], "client_secret_post", True, "client_secret_post"),
    "b-basic-only-no-dcr": (False, ["client_secret_basic"], "client_secret_basic", True, "client_secret_basic"),
    "c-public-client": (False, ["none"], "none", True, "none"),
    "d-dcr": (True, ALL, None, False, "none"),  # a DCR client is public where the server allows it
    "e-dcr-offered-but-credentials-win": (True, ALL, "client_secret_basic", True, "client_secret_basic"),
}


MODES = ["ce", "desktop"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(CASES))
def test_authorize(oauth_user, tmp_path, case, mode):
    """The same cases in CE mode (tokens in docker-credential-pass) and in Docker Desktop mode, where a
    pre-registered client still runs the local flow (tokens in docker-credential-desktop) and a DCR
    server is handed to Desktop's /apps API."""
    registration, methods, method, has_credentials, used = CASES[case]
    port = free_port()
    with oauth_user.in_mode(mode) as desktop, ProtectedResource() as resource:
        config = {
            "resource": resource.url,
            "registration": registration,
            "tokenEndpointAuthMethods": methods,
            "clients": [client(port, method)] if method else [],
        }
        with start_oidc(tmp_path, config) as oidc:
            resource.authorization_server = oidc.issuer
            secret = has_credentials and method != "none"
            oauth_user.import_server(
                remote_entry(
                    SERVER, resource.url, client_id="pre-registered-app" if has_credentials else None, secret=secret
                )
            )
            if secret:
                # the walkthrough: the client secret goes into the credential store from stdin
                oauth_user.ok("mcp", "secret", "set", f"{SERVER}.client_secret", input=PLANTED_SECRET + "\n")

            if desktop is not None and not has_credentials:
                # enabling probes the server and gives Desktop a pending DCR entry for it
                oauth_user.ok("mcp", "server", "enable", SERVER)
                assert desktop.dcr[SERVER]["state"] == "unregistered"
                desktop.clear()
                resource.paths.clear()
            r = oauth_user.authorize(SERVER, port)
            assert r.returncode == 0, r.stdout + r.stderr
            if desktop is not None and not has_credentials:
                # Desktop runs DCR and the browser step itself: the plugin only asks it to start
                assert desktop.tools_calls() == [("POST", f"/apps/{SERVER}", "")]
                assert r.stdout == (
                    "Opening your browser for authentication. If it doesn't open automatically, please visit: "
                    f"{desktop.BROWSER_URL.format(app=SERVER)}\n"
                )
                assert oidc.count("/reg") == oidc.count("/auth") == oidc.count("/token") == 0
                assert resource.paths == [] and oauth_user.browser_records() == []
                assert oauth_user.stored(SERVER) == (None, None)
                return
            if desktop is not None:
                assert desktop.tools_calls() == []  # the local flow: Desktop's OAuth API is not asked
            if has_credentials:
                assert (
                    "Using pre-registered client pre-registered-app (dynamic client registration skipped)" in r.stdout
                )
                assert oidc.count("/reg") == 0  # no request ever reached a registration endpoint
            else:
                assert "dynamic client registration" in r.stdout
                assert oidc.count("/reg", method="POST") == 1
            assert "Authorization successful! Token stored securely." in r.stdout
            assert oauth_user.browser_records()[-1]["ok"] is True

            record, token = oauth_user.stored(SERVER)
            assert record.client_type == ("pre-registered" if has_credentials else "dcr")
            assert record.token_endpoint_auth_method == used
            assert token.access_token and token.refresh_token and token.expiry is not None
            if has_credentials:
                assert record.client_secret == ""  # a pre-registered record holds the secret's name only
                assert record.client_secret_ref == (f"{SERVER}.client_secret" if secret else "")
            token_requests = [q for q in oidc.requests() if q["path"].startswith("/token") and q["method"] == "POST"]
            auth = token_requests[-1]
            if used == "client_secret_basic":
                assert auth["auth_scheme"] == "Basic" and "client_secret" not in auth["body_keys"]
            elif used == "client_secret_post":
                assert auth["auth_scheme"] is None and "client_secret" in auth["body_keys"]
            else:
                assert auth["auth_scheme"] is None and "client_secret" not in auth["body_keys"]
            assert "code_verifier" in auth["body_keys"] and "resource" in auth["body_keys"]

            if desktop is not None:  # the token went to Desktop's credential helper, not to credsStore's
                assert oauth_user.stored(SERVER, helper="pass") == (None, None)
            listed = oauth_user.ok("mcp", "oauth", "ls", "--json")
            import json

            [row] = json.loads(listed)
            assert row["app"] == SERVER and row["authorized"] is True
            assert row["clientType"] == ("pre-registered" if has_credentials else "dcr")
            oauth_user.assert_nothing_leaked(PLANTED_SECRET, token.access_token, token.refresh_token)


def test_both_endpoints_configured_means_no_discovery_at_all(oauth_user, tmp_path):
    port = free_port()
    with ProtectedResource() as resource:
        config = {
            "resource": resource.url,
            "registration": True,
            "tokenEndpointAuthMethods": ["client_secret_post"],
            "clients": [client(port, "client_secret_post")],
        }
        with start_oidc(tmp_path, config) as oidc:
            resource.authorization_server = oidc.issuer
            oauth_user.import_server(
                remote_entry(
                    SERVER,
                    resource.url,
                    client_id="pre-registered-app",
                    secret=True,
                    authorization_endpoint=oidc.issuer + "/auth",
                    token_endpoint=oidc.issuer + "/token",
                    scopes=("mcp:tools",),  # nothing is discovered, so the catalog names the scopes
                )
            )
            oauth_user.ok("mcp", "secret", "set", f"{SERVER}.client_secret", input=PLANTED_SECRET)
            r = oauth_user.authorize(SERVER, port)
            assert r.returncode == 0, r.stdout + r.stderr
            assert resource.paths == []  # the MCP server was never asked
            paths = [q["path"] for q in oidc.requests()]
            assert not [p for p in paths if p.startswith("/.well-known")]
            # the only requests authorize made are the browser's and, after it, the token request; with no
            # metadata the client authenticates as golang.org/x/oauth2 does: Basic first (accepted here)
            token_calls = [q for q in oidc.requests() if q["path"] == "/token"]
            assert [q["auth_scheme"] for q in token_calls] == ["Basic"]
            record, token = oauth_user.stored(SERVER)
            assert record.token_endpoint_auth_method == "client_secret_basic"  # remembered
            # a second authorize replaces the token
            r = oauth_user.authorize(SERVER, port)
            assert r.returncode == 0, r.stderr
            _, second = oauth_user.stored(SERVER)
            assert second.access_token != token.access_token
            oauth_user.assert_nothing_leaked(PLANTED_SECRET, token.access_token, second.access_token)


@pytest.mark.parametrize("mode", MODES)
def test_revoke_calls_the_revocation_endpoint_and_forgets_the_token(oauth_user, tmp_path, mode):
    port = free_port()
    with oauth_user.in_mode(mode) as desktop, ProtectedResource() as resource:
        config = {"resource": resource.url, "clients": [client(port, "client_secret_basic")]}
        with start_oidc(tmp_path, config) as oidc:
            resource.authorization_server = oidc.issuer
            oauth_user.import_server(remote_entry(SERVER, resource.url, client_id="pre-registered-app", secret=True))
            oauth_user.ok("mcp", "secret", "set", f"{SERVER}.client_secret", input=PLANTED_SECRET)
            assert oauth_user.authorize(SERVER, port).returncode == 0
            out = oauth_user.ok("mcp", "oauth", "revoke", SERVER)
            assert out == f"Revoking OAuth access for {SERVER}...\nOAuth access revoked for {SERVER}\n"
            assert oidc.count("/token/revocation", method="POST") == 1
            assert oauth_user.stored(SERVER) == (None, None)
            listed = oauth_user.ok("mcp", "oauth", "ls")
            assert SERVER in listed and "no" in listed.split(SERVER)[1].split("\n")[0]
            # revoking again is not an error
            assert "nothing to revoke" in oauth_user.ok("mcp", "oauth", "revoke", SERVER)
            if desktop is not None:  # a pre-registered client is never Desktop's to revoke
                assert [c for c in desktop.tools_calls() if c[0] != "GET"] == []


def test_open_browser_through_headless_chromium(oauth_user, tmp_path):
    from tests.helpers.chromium_approve import chromium_available

    assert chromium_available(), "scripts/test installs chromium (apt) and playwright (pip)"
    port = free_port()
    with ProtectedResource() as resource:
        config = {"resource": resource.url, "clients": [client(port, "none")]}
        with start_oidc(tmp_path, config) as oidc:
            resource.authorization_server = oidc.issuer
            oauth_user.import_server(remote_entry(SERVER, resource.url, client_id="pre-registered-app"))
            r = oauth_user.authorize(SERVER, port, browser="chromium_approve.py")
            assert r.returncode == 0, r.stdout + r.stderr
            assert oauth_user.browser_records()[-1]["agent"] == "chromium"
            _, token = oauth_user.stored(SERVER)
            assert token is not None


def test_a_registered_client_is_kept_when_the_user_declines_and_reused_next_time(oauth_user, tmp_path):
    port = free_port()
    resource = ProtectedResource()
    with resource, start_oidc(tmp_path, {"resource": resource.url, "registration": True}) as oidc:
        resource.authorization_server = oidc.issuer
        oauth_user.import_server(remote_entry("dcr-server", resource.url))
        r = oauth_user.authorize("dcr-server", port, action="deny")
        assert r.returncode == 1 and "access_denied" in r.stderr
        record, token = oauth_user.stored("dcr-server")
        assert record is not None and record.client_type == "dcr" and token is None
        r = oauth_user.authorize("dcr-server", port)
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"Using the registered client {record.client_id}" in r.stdout
        assert oidc.count("/reg", method="POST") == 1
