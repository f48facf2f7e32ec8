"""OAuth in Docker Desktop mode, through the real docker CLI and the built zipapp: a server without a
pre-registered client is authorized and revoked through Desktop's /apps API with exactly the Go plugin's
calls (go-plugin-oauth.md §1.2, §4, §7, §8.4), and `oauth ls` merges Desktop's apps with the local
store. Desktop is the stand-in on its unix sockets under the user's HOME."""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.oauth_support import remote_entry
from tests.servers.desktop_standin import DesktopCall

DCR_SERVER = "notion-remote"
URL = "https://mcp.notion.invalid/mcp"
DCR_ENTRY = remote_entry(DCR_SERVER, URL, scopes=("read",))  # an `oauth` block without credentials
PLANTED_TOKEN = "PLANTED-access-token-" + secrets.token_hex(8)
PLANTED_REFRESH = "PLANTED-refresh-token-" + secrets.token_hex(8)

PING = DesktopCall("backend", "GET", "/ping", "", None)
BUSY = DesktopCall("backend", "POST", "/idle/make-busy", "", None)  # before every tools call


def summary(row: dict) -> tuple:
    """An `oauth ls --json` element's app, client type, authorized, expiry (parsed) and scope names."""
    expires = row["expiresAt"] and datetime.fromisoformat(row["expiresAt"].replace("Z", "+00:00"))
    scopes = [s["name"] if isinstance(s, dict) else s for s in row["scopes"]]
    return row["app"], row["clientType"], row["authorized"], expires, scopes


def tools(method: str, path: str, body: str = "", content_type: str | None = None) -> DesktopCall:
    return DesktopCall("tools", method, path, body, content_type)


@pytest.fixture
def desktop_user(oauth_user):
    with oauth_user.in_mode("desktop") as desktop:
        yield oauth_user, desktop


def test_dcr_server_enable_authorize_and_revoke_make_exactly_the_go_plugins_calls(desktop_user):
    user, desktop = desktop_user
    user.import_server(DCR_ENTRY)

    # enable: Desktop gets a pending DCR entry for the server (RegisterProviderForLazySetup)
    desktop.clear()
    out = user.ok("mcp", "server", "enable", DCR_SERVER)
    assert desktop.requests == [
        PING,
        BUSY,
        tools("GET", f"/apps/{DCR_SERVER}/dcr"),
        BUSY,
        tools(
            "POST",
            f"/apps/{DCR_SERVER}/dcr?state=unregistered",
            f'{{"clientId":"","providerName":"{DCR_SERVER}"}}',
            "application/json",
        ),
    ]
    assert out == (
        f"Configuring OAuth provider {DCR_SERVER} (provider: {DCR_SERVER}) for authentication...\n"
        f"OAuth server {DCR_SERVER} enabled. Run 'docker mcp oauth authorize {DCR_SERVER}' to authenticate\n"
    )
    desktop.clear()
    user.ok("mcp", "server", "enable", DCR_SERVER)  # registered already: asked, not registered again
    assert [c for c in desktop.requests if c.socket == "tools"] == [tools("GET", f"/apps/{DCR_SERVER}/dcr")]

    # authorize: POST /apps/<app> with no body and the scopes in the query; Desktop opens the browser
    desktop.clear()
    out = user.ok("mcp", "oauth", "authorize", DCR_SERVER, "--scopes", "read write")
    assert desktop.requests == [PING, BUSY, tools("POST", f"/apps/{DCR_SERVER}?scopes=read+write")]
    assert out == (
        "Opening your browser for authentication. If it doesn't open automatically, please visit: "
        f"https://desktop-oauth.invalid/authorize/{DCR_SERVER}\n"
    )
    desktop.clear()
    user.ok("mcp", "oauth", "authorize", DCR_SERVER)  # no --scopes: no query at all
    assert desktop.tools_calls() == [("POST", f"/apps/{DCR_SERVER}", "")]

    desktop.complete(DCR_SERVER)
    listed = json.loads(user.ok("mcp", "oauth", "ls", "--json"))
    assert [summary(row) for row in listed] == [(DCR_SERVER, "desktop", True, None, [])]

    # revoke: DELETE /apps/<app>; the server is still enabled, so Desktop keeps its DCR entry
    desktop.clear()
    out = user.ok("mcp", "oauth", "revoke", DCR_SERVER)
    assert desktop.requests == [PING, BUSY, tools("DELETE", f"/apps/{DCR_SERVER}", "", "application/json")]
    assert out == f"Revoking OAuth access for {DCR_SERVER}...\nOAuth access revoked for {DCR_SERVER}\n"
    assert DCR_SERVER in desktop.dcr and desktop.apps[DCR_SERVER]["authorized"] is False
    table = user.ok("mcp", "oauth", "ls")
    assert table.splitlines()[1].split() == [DCR_SERVER, "desktop", "no", "-"]

    # Desktop did it all: nothing reached either credential helper
    for helper in ("desktop", "pass"):
        with user.store(helper) as store:
            assert store.list() == {}


def test_revoking_a_server_no_longer_enabled_also_removes_desktops_dcr_entry(desktop_user):
    user, desktop = desktop_user
    user.import_server(DCR_ENTRY)
    user.ok("mcp", "server", "enable", DCR_SERVER)
    user.ok("mcp", "oauth", "authorize", DCR_SERVER)
    desktop.complete(DCR_SERVER)
    user.ok("mcp", "server", "disable", DCR_SERVER)
    desktop.clear()
    out = user.ok("mcp", "oauth", "revoke", DCR_SERVER)
    assert desktop.requests == [
        PING,
        BUSY,
        tools("DELETE", f"/apps/{DCR_SERVER}", "", "application/json"),
        BUSY,
        tools("GET", f"/apps/{DCR_SERVER}/dcr"),
        BUSY,
        tools("GET", f"/apps/{DCR_SERVER}"),
        BUSY,
        tools("DELETE", f"/apps/{DCR_SERVER}/dcr", "", "application/json"),
    ]
    assert out == f"Revoking OAuth access for {DCR_SERVER}...\nOAuth access revoked for {DCR_SERVER}\n"
    assert DCR_SERVER not in desktop.dcr


def test_oauth_ls_merges_desktops_apps_with_the_local_store(desktop_user):
    from docker_mcp.oauth.clients import PRE_REGISTERED, ClientRecord, save_client
    from docker_mcp.oauth.tokens import Token, save_token

    user, desktop = desktop_user
    for name, entry in {
        "slack-official": remote_entry("slack-official", "https://mcp.slack.invalid/mcp", client_id="app-1"),
        DCR_SERVER: DCR_ENTRY,
        "linear": remote_entry("linear", "https://mcp.linear.invalid/sse", scopes=("read",)),
    }.items():
        user.import_server(entry, f"{name}.yaml")
    desktop.add_app("github", authorized=True, scopes=("repo", "read:org"))  # Desktop's own catalog
    desktop.add_app(DCR_SERVER)
    desktop.add_app("slack-official")  # Desktop knows the name, but the local flow owns a pre-registered client
    # the local flow's earlier authorization of slack-official, in docker-credential-desktop
    record = ClientRecord(
        "slack-official", PRE_REGISTERED, "app-1", authorization_endpoint="https://auth.slack.invalid/authorize"
    )
    expiry = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    with user.store() as store:
        save_client(store, record)
        token = Token(PLANTED_TOKEN, refresh_token=PLANTED_REFRESH, expiry=expiry, scope="chat:read")
        save_token(store, record, token)

    rows = json.loads(user.ok("mcp", "oauth", "ls", "--json"))
    assert [summary(row) for row in rows] == [
        ("github", "desktop", True, None, ["repo", "read:org"]),
        ("linear", None, False, None, []),
        (DCR_SERVER, "desktop", False, None, []),
        ("slack-official", "pre-registered", True, expiry, ["chat:read"]),
    ]
    assert desktop.tools_calls() == [("GET", "/apps", "")]
    table = user.ok("mcp", "oauth", "ls")
    assert [line.split()[:3] for line in table.splitlines()] == [
        ["NAME", "CLIENT", "AUTHORIZED"],
        ["github", "desktop", "yes"],
        ["linear", "-", "no"],
        [DCR_SERVER, "desktop", "no"],
        ["slack-official", "pre-registered", "yes"],
    ]
    user.assert_nothing_leaked(PLANTED_TOKEN, PLANTED_REFRESH)


def test_a_pre_registered_server_is_revoked_locally_and_never_at_desktop(desktop_user):
    user, desktop = desktop_user
    user.import_server(remote_entry("slack-official", "https://mcp.slack.invalid/mcp", client_id="app-1"))
    desktop.add_app("slack-official", authorized=True)
    desktop.clear()
    out = user.ok("mcp", "oauth", "revoke", "slack-official")
    assert out == "Revoking OAuth access for slack-official...\nslack-official was not authorized: nothing to revoke\n"
    assert desktop.tools_calls() == []

    # a pre-registered client the local store keeps for a server no catalog has any more: still local
    from docker_mcp.oauth.clients import PRE_REGISTERED, ClientRecord, save_client
    from docker_mcp.oauth.tokens import Token, save_token

    record = ClientRecord("old-slack", PRE_REGISTERED, "app-0", authorization_endpoint="https://auth.slack.invalid/a")
    with user.store() as store:
        save_client(store, record)
        save_token(store, record, Token(PLANTED_TOKEN))
    out = user.ok("mcp", "oauth", "revoke", "old-slack")
    assert out == "Revoking OAuth access for old-slack...\nOAuth access revoked for old-slack\n"
    assert desktop.tools_calls() == [] and user.stored("old-slack") == (None, None)
    user.assert_nothing_leaked(PLANTED_TOKEN)


def test_desktop_errors_are_one_line_and_exit_1(desktop_user):
    user, desktop = desktop_user
    # a name no catalog has is Desktop's to know; it does not
    r = user.docker("mcp", "oauth", "authorize", "no-such-app")
    assert (r.returncode, r.stdout) == (1, "")
    assert (
        r.stderr
        == "failed to authorize no-such-app through Docker Desktop: HTTP 404: OAuth app no-such-app not found\n"
    )
    # revoking what Desktop never had is not an error
    out = user.ok("mcp", "oauth", "revoke", "no-such-app")
    assert out == "Revoking OAuth access for no-such-app...\nno-such-app was not authorized: nothing to revoke\n"
    # Desktop's backend answers /ping, but its tools socket is gone
    os.unlink(desktop.tools_path)
    r = user.docker("mcp", "oauth", "ls")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (
        f"Docker Desktop did not list its OAuth apps: no answer to GET /apps on {desktop.tools_path}: "
        "No such file or directory\n"
    )
    r = user.docker("mcp", "oauth", "ls", "--json")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr.count("\n") == 1 and "Docker Desktop did not list its OAuth apps" in r.stderr
    # DOCKER_MCP_USE_CE=true: no Desktop API at all, the local store only
    assert json.loads(user.ok("mcp", "oauth", "ls", "--json", env={"DOCKER_MCP_USE_CE": "true"})) == []
