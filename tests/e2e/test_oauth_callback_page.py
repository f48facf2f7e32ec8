"""Issue 14, case 8: the page the browser ends on after the authorization says how the token request went
(it used to say "Authorization Successful" as soon as the code arrived, and the exchange could still fail).
`docker mcp oauth authorize --open-browser` through the real docker CLI, BROWSER being headless Debian
Chromium (driven by Playwright), against oidc-provider with a pre-registered confidential client."""

from __future__ import annotations

import secrets

from tests.e2e.oauth_support import free_port, remote_entry
from tests.helpers.oidc import start_oidc
from tests.servers.protected_resource import ProtectedResource

SERVER = "notes"
CLIENT_ID = "notes-app"
PLANTED_SECRET = "PLANTED-page-secret-" + secrets.token_hex(8)
WRONG_SECRET = "WRONG-page-secret-" + secrets.token_hex(8)  # what the user set: the server refuses it


def authorize_in_chromium(oauth_user, tmp_path, secret: str):
    """Authorize with `secret` as the client secret; returns the command's result, the page Chromium ended
    on (its browser-log record) and the token requests oidc-provider saw."""
    from tests.helpers.chromium_approve import chromium_available

    assert chromium_available(), "scripts/test installs chromium (apt) and playwright (pip)"
    port = free_port()
    client = {
        "client_id": CLIENT_ID,
        "client_secret": PLANTED_SECRET,
        "token_endpoint_auth_method": "client_secret_basic",
        "redirect_uris": [f"http://127.0.0.1:{port}/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "mcp:tools",
    }
    with ProtectedResource() as resource:
        config = {"resource": resource.url, "registration": False, "clients": [client]}
        with start_oidc(tmp_path, config) as oidc:
            resource.authorization_server = oidc.issuer
            oauth_user.import_server(remote_entry(SERVER, resource.url, client_id=CLIENT_ID, secret=True))
            oauth_user.ok("mcp", "secret", "set", f"{SERVER}.client_secret", input=secret + "\n")
            r = oauth_user.authorize(SERVER, port, browser="chromium_approve.py")
            token_requests = [q for q in oidc.requests() if q["path"] == "/token" and q["method"] == "POST"]
    [page] = oauth_user.browser_records()
    assert page["agent"] == "chromium" and page["ok"] is True, page
    assert page["callback"] == f"http://127.0.0.1:{port}/callback"
    return r, page, token_requests


def test_the_page_says_the_authorization_failed_and_why_when_the_token_request_is_refused(oauth_user, tmp_path):
    r, page, token_requests = authorize_in_chromium(oauth_user, tmp_path, WRONG_SECRET)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "token endpoint error: invalid_client" in r.stderr
    assert "Authorization successful" not in r.stdout
    assert token_requests and all(q["status"] == 401 for q in token_requests)  # the exchange did fail
    # the page came after the exchange: it says so, with the terminal's reason, and nothing of success
    assert page["status"] == 400
    assert "Authorization failed" in page["body"] and "token endpoint error: invalid_client" in page["body"]
    assert "successful" not in page["body"].lower()
    assert oauth_user.stored(SERVER)[1] is None
    oauth_user.assert_nothing_leaked(PLANTED_SECRET, WRONG_SECRET)


def test_the_page_says_successful_once_the_token_is_stored(oauth_user, tmp_path):
    r, page, token_requests = authorize_in_chromium(oauth_user, tmp_path, PLANTED_SECRET)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Authorization successful! Token stored securely." in r.stdout
    assert [q["status"] for q in token_requests] == [200]
    assert page["status"] == 200 and "Authorization Successful" in page["body"]
    assert "failed" not in page["body"].lower()
    _, token = oauth_user.stored(SERVER)
    assert token is not None and token.access_token
    oauth_user.assert_nothing_leaked(PLANTED_SECRET, token.access_token, token.refresh_token)
