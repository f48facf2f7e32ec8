"""Issue 14, case 5: extra authorization-request parameters per server (`oauth.authorizationParameters`),
and Google's `access_type=offline` / `prompt=consent` (without them Google issues no refresh token) from
the provider module docker_mcp/oauth/providers/google.py, the catalog winning. Through the real docker
CLI: against oidc-provider with the browser step done by the scripted user agent (BROWSER), and, for
Google's endpoint, up to the printed authorization URL (no request leaves the machine)."""

from __future__ import annotations

from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

from tests.e2e.oauth_support import free_port, remote_entry
from tests.helpers.oidc import start_oidc
from tests.servers.protected_resource import ProtectedResource

SERVER = "notes"
CLIENT_ID = "notes-app"
GOOGLE_AUTHORIZE = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"


def with_parameters(entry: str, parameters: dict[str, str]) -> str:
    """The entry (from remote_entry, which ends with its oauth block when it has one) with
    oauth.authorizationParameters."""
    lines = entry.rstrip("\n").split("\n")
    at = lines.index("oauth:") + 1 if "oauth:" in lines else len(lines)
    block = ["  authorizationParameters:", *(f'    {k}: "{v}"' for k, v in parameters.items())]
    if "oauth:" not in lines:
        block.insert(0, "oauth:")
    return "\n".join(lines[:at] + block + lines[at:]) + "\n"


def test_the_catalog_parameters_reach_the_authorization_server_through_the_browser(oauth_user, tmp_path):
    port = free_port()
    parameters = {"login_hint": "alice", "prompt": "consent", "ui_locales": "en"}
    client = {
        "client_id": CLIENT_ID,
        "token_endpoint_auth_method": "none",
        "redirect_uris": [f"http://127.0.0.1:{port}/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "mcp:tools",
    }
    resource = ProtectedResource()
    with resource, start_oidc(tmp_path, {"resource": resource.url, "clients": [client]}) as oidc:
        resource.authorization_server = oidc.issuer
        oauth_user.import_server(with_parameters(remote_entry(SERVER, resource.url, client_id=CLIENT_ID), parameters))
        r = oauth_user.authorize(SERVER, port)
        auth_requests = [q for q in oidc.requests() if q["path"] == "/auth"]
    assert r.returncode == 0, r.stdout + r.stderr
    [browser] = oauth_user.browser_records()
    assert browser["ok"] is True
    sent = parse_qsl(urlsplit(browser["url"]).query)  # the URL the browser was sent to
    names = [name for name, _ in sent]
    assert {name: value for name, value in sent if name in parameters} == parameters
    assert len(names) == len(set(names))  # each parameter once, the flow's own included
    assert {"response_type", "client_id", "redirect_uri", "state", "code_challenge", "resource"} <= set(names)
    assert set(parameters) <= set(auth_requests[0]["query_keys"])  # and oidc-provider received them
    _, token = oauth_user.stored(SERVER)
    assert token is not None and token.refresh_token


def google_entry(parameters: dict[str, str] | None = None) -> str:
    entry = remote_entry(
        SERVER,
        "https://mcp.notes.example/mcp",
        client_id=CLIENT_ID,
        authorization_endpoint=GOOGLE_AUTHORIZE,
        token_endpoint=GOOGLE_TOKEN,
        scopes=("openid",),
    )
    return with_parameters(entry, parameters) if parameters else entry


def printed_authorization_url(oauth_user) -> dict[str, list[str]]:
    """Authorize without --open-browser, giving up after 1 s: the query of the URL it printed."""
    r = oauth_user.docker("mcp", "oauth", "authorize", SERVER, "--callback-port", str(free_port()), "--timeout", "1")
    assert r.returncode == 1 and "no authorization callback within 1 s" in r.stderr, r.stdout + r.stderr
    [url] = [line.strip() for line in r.stdout.splitlines() if line.strip().startswith(GOOGLE_AUTHORIZE + "?")]
    return parse_qs(urlsplit(url).query)


@pytest.mark.parametrize(
    ("catalog", "expected"),
    [
        (None, {"access_type": ["offline"], "prompt": ["consent"]}),
        ({"prompt": "select_account consent"}, {"access_type": ["offline"], "prompt": ["select_account consent"]}),
        ({"access_type": "online", "hd": "example.com"}, {"access_type": ["online"], "prompt": ["consent"]}),
    ],
)
def test_google_gets_offline_access_and_consent_unless_the_catalog_says_otherwise(oauth_user, catalog, expected):
    oauth_user.import_server(google_entry(catalog))
    query = printed_authorization_url(oauth_user)
    assert {k: query[k] for k in ("access_type", "prompt")} == expected
    if catalog and "hd" in catalog:
        assert query["hd"] == ["example.com"]
    assert query["client_id"] == [CLIENT_ID] and query["scope"] == ["openid"]


def test_parameters_the_flow_sets_are_refused_at_import(oauth_user, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(with_parameters(remote_entry(SERVER, "https://mcp.notes.example/mcp"), {"redirect_uri": "x"}))
    r = oauth_user.docker("mcp", "catalog", "import", str(path))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip() == (
        f"{path}:7:5: oauth.authorizationParameters.redirect_uri: is set by the authorization flow itself; remove it"
    )
    assert SERVER not in oauth_user.ok("mcp", "catalog", "ls")
