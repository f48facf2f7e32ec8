"""The gateway in Docker Desktop mode, through the real docker CLI and the built zipapp: a DCR server
(an `oauth` block without credentials) is Desktop's to authorize, so its bearer token is the one Desktop
holds, read from the Secrets Engine at docker/mcp/oauth/<server> (go-plugin-oauth.md §2, §6.3, §6.4, §6.5).
A token the server rejects is followed by GET /apps/<server>, at which Desktop refreshes it, and a
second read. The MCP server is protected by oidc-provider; Desktop is the stand-in on its sockets."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.e2e.conftest import DOCKER
from tests.e2e.oauth_support import remote_entry
from tests.helpers.oidc import resource_server_client, start_oidc, token_request
from tests.servers.mcp_remote import RemoteMcpServer

SERVER = "protected"
TOKEN_ID = f"docker/mcp/oauth/{SERVER}"
HINT = f"{SERVER} is not authorized: run 'docker mcp oauth authorize {SERVER}'"
SECRET = "PLANTED-desktop-app-secret-" + secrets.token_hex(6)

# the client Desktop registered (here: registered up front); Desktop's browser step is done with
# oidc-provider's own pages, no docker-mcp involved
DESKTOP_APP = {
    "client_id": "desktop-app",
    "client_secret": SECRET,
    "token_endpoint_auth_method": "client_secret_post",
    "redirect_uris": ["http://127.0.0.1:9/callback"],  # never followed
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "scope": "mcp:tools",
}


def in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@pytest.fixture
def desktop_user(oauth_user):
    with oauth_user.in_mode("desktop") as desktop:
        yield oauth_user, desktop


@pytest.fixture
def protected(desktop_user, tmp_path):
    """The oidc-protected MCP server, in the user's catalog as a DCR server; yields oidc-provider."""
    user, _ = desktop_user
    remote = RemoteMcpServer(auth="oidc")
    config = {"resource": remote.resource, "clients": [DESKTOP_APP, resource_server_client()]}
    with start_oidc(tmp_path, config) as oidc:
        remote.issuer, remote.introspection_client = oidc.issuer, resource_server_client()
        with remote:
            user.import_server(remote_entry(SERVER, remote.url, scopes=("mcp:tools",)))
            yield oidc


async def session_with_gateway(user, errlog, body):
    params = StdioServerParameters(
        command=DOCKER, args=["mcp", "gateway", "run", "--servers", SERVER], env=user.plugin.env
    )
    async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return await body(session)


def run_gateway(user, tmp_path, body) -> str:
    """A session with `docker mcp gateway run` through the MCP SDK's client; returns the gateway's stderr."""
    log = tmp_path / "gateway.stderr"
    with open(log, "w") as errlog:
        anyio.run(session_with_gateway, user, errlog, body)
    user.outputs.append(log.read_text())
    return log.read_text()


def test_the_gateway_calls_the_server_with_desktops_token_and_has_desktop_refresh_a_rejected_one(
    desktop_user, protected, tmp_path
):
    user, desktop = desktop_user
    oidc = protected
    first = oidc.get_tokens(DESKTOP_APP)["access_token"]
    second = oidc.get_tokens(DESKTOP_APP)["access_token"]
    desktop.add_app(SERVER, authorized=True)
    desktop.hold_token(SERVER, first, expiry=in_an_hour())
    desktop.clear()

    async def body(session):
        who = await session.call_tool("remote_whoami", {})
        assert not who.is_error, who.content
        assert who.structured_content["client_id"] == "desktop-app"
        assert desktop.engine_calls() == [TOKEN_ID]
        assert desktop.tools_calls() == []  # a fresh token: Desktop is not asked

        # the server stops accepting the token; Desktop has a new one once the app is accessed
        assert token_request(oidc.url("/token/revocation"), DESKTOP_APP, {"token": first}).ok
        desktop.refresh_on_access(SERVER, second, expiry=in_an_hour())
        echoed = await session.call_tool("remote_echo", {"text": "after a 401"})
        assert not echoed.is_error, echoed.content
        assert echoed.content[0].text == "after a 401"
        assert desktop.tools_calls() == [("GET", f"/apps/{SERVER}", "")]
        assert desktop.engine_calls() == [TOKEN_ID] * 3  # the rejected token read again, then the new one

        # Desktop no longer holds a token (revoked there): the call says how to authorize, the gateway stays up
        assert token_request(oidc.url("/token/revocation"), DESKTOP_APP, {"token": second}).ok
        del desktop.secrets[TOKEN_ID]
        failed = await session.call_tool("remote_echo", {"text": "x"})
        assert failed.is_error
        assert failed.content[0].text == f"{SERVER}: {HINT}"
        assert len((await session.list_tools()).tools) == 3

    run_gateway(user, tmp_path, body)
    # the backend socket saw only the mode's /ping and the make-busy before the tools call
    assert desktop.calls == [("GET", "/ping"), ("POST", "/idle/make-busy")]
    user.assert_nothing_leaked(first, second, SECRET)


def test_without_a_token_at_desktop_the_listing_reports_the_authorize_hint(desktop_user, protected):
    user, desktop = desktop_user
    r = user.docker("mcp", "gateway", "run", "--servers", SERVER, "--dry-run")
    assert r.returncode == 1, r.stderr
    assert f"! {SERVER}: {HINT}" in r.stderr
    assert desktop.engine_calls() == [TOKEN_ID]
    assert desktop.tools_calls() == []  # nothing to refresh: no GET /apps

    # once Desktop holds one, `docker mcp tools` (the same backends, in-process) sees the server's tools
    token = protected.get_tokens(DESKTOP_APP)["access_token"]
    desktop.hold_token(SERVER, token)
    listed = user.ok("mcp", "tools", "count", "--servers", SERVER)
    assert listed.split()[0] == "3", listed
    r = user.docker("mcp", "gateway", "run", "--servers", SERVER, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert f"> {SERVER}: 3 tools: remote_add, remote_echo, remote_whoami" in r.stderr
    user.assert_nothing_leaked(token, SECRET)


def test_a_pre_registered_server_keeps_the_local_store_in_desktop_mode(desktop_user, protected):
    """Desktop cannot run a pre-registered client's flow, so its token is the local flow's (here: none),
    and the Secrets Engine is never asked."""
    user, desktop = desktop_user
    user.import_server(remote_entry("slack-like", "https://mcp.slack.invalid/mcp", client_id="app-1"), "s.yaml")
    desktop.hold_token("slack-like", "PLANTED-not-for-the-local-flow")
    r = user.docker("mcp", "gateway", "run", "--servers", "slack-like", "--dry-run")
    assert r.returncode == 1, r.stderr
    assert "! slack-like: slack-like is not authorized: run 'docker mcp oauth authorize slack-like'" in r.stderr
    assert desktop.engine_calls() == []
