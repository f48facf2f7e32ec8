"""The gateway in front of an OAuth-protected MCP server (RFC 9728, tokens checked by introspection at
oidc-provider), authorized with a pre-registered client through `docker mcp oauth authorize`; the
gateway's bearer token comes from docker-credential-pass and is refreshed when the server rejects it."""

from __future__ import annotations

import secrets

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.e2e.conftest import DOCKER
from tests.e2e.oauth_support import free_port, remote_entry
from tests.helpers.oidc import resource_server_client, start_oidc, token_request
from tests.servers.mcp_remote import RemoteMcpServer

SECRET = "PLANTED-gateway-client-secret-" + secrets.token_hex(6)


def oidc_client(port: int) -> dict:
    return {
        "client_id": "gateway-app",
        "client_secret": SECRET,
        "token_endpoint_auth_method": "client_secret_post",
        "redirect_uris": [f"http://127.0.0.1:{port}/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "mcp:tools",
    }


async def session_with_gateway(user, args, body):
    params = StdioServerParameters(command=DOCKER, args=["mcp", "gateway", "run", *args], env=user.plugin.env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return await body(session)


def test_gateway_calls_the_protected_server_refreshes_expired_tokens_and_reports_a_revoked_grant(oauth_user, tmp_path):
    port = free_port()
    remote = RemoteMcpServer(auth="oidc")
    client = oidc_client(port)
    # access tokens live 4 s: they expire during the session (refreshed 1 s before their end, a quarter of it)
    config = {"resource": remote.resource, "clients": [client, resource_server_client()], "accessTokenTTL": 4}
    with start_oidc(tmp_path, config) as oidc:
        remote.issuer, remote.introspection_client = oidc.issuer, resource_server_client()
        with remote:
            oauth_user.import_server(remote_entry("protected", remote.url, client_id="gateway-app", secret=True))
            oauth_user.ok("mcp", "secret", "set", "protected.client_secret", input=SECRET)
            oauth_user.import_server(remote_entry("never-authorized", remote.url, client_id="other"), "other.yaml")

            # not authorized yet: reported with the hint; the only server failed, so the dry run fails
            r = oauth_user.docker("mcp", "gateway", "run", "--servers", "protected", "--dry-run")
            assert r.returncode == 1
            assert "! protected: protected is not authorized: run 'docker mcp oauth authorize protected'" in r.stderr

            assert oauth_user.authorize("protected", port).returncode == 0
            r = oauth_user.docker("mcp", "gateway", "run", "--servers", "protected,never-authorized", "--dry-run")
            assert r.returncode == 0, r.stderr
            assert "> protected: 3 tools: remote_add, remote_echo, remote_whoami" in r.stderr
            assert "never-authorized is not authorized" in r.stderr

            _, first = oauth_user.stored("protected")

            async def body(session):
                who = await session.call_tool("remote_whoami", {})
                assert not who.is_error and who.structured_content["client_id"] == "gateway-app"
                await anyio.sleep(5)  # the access token the gateway holds has expired now
                again = await session.call_tool("remote_echo", {"text": "after expiry"})
                assert not again.is_error, again.content
                assert again.content[0].text == "after expiry"
                _, current = oauth_user.stored("protected")
                assert current.access_token != first.access_token
                # the whole grant is revoked: the call fails with the authorize hint, the gateway stays up
                assert token_request(oidc.url("/token/revocation"), client, {"token": current.refresh_token}).ok
                await anyio.sleep(5)
                failed = await session.call_tool("remote_echo", {"text": "x"})
                assert failed.is_error
                assert failed.content[0].text == (
                    "protected: authorization for protected expired: run 'docker mcp oauth authorize protected'"
                )
                tools = await session.list_tools()
                assert len(tools.tools) == 3

            anyio.run(session_with_gateway, oauth_user, ["--servers", "protected"], body)
            assert remote.tokens_seen >= 2
            oauth_user.assert_nothing_leaked(SECRET, first.access_token, first.refresh_token)


def test_the_time_server_and_the_oauth_server_behind_one_gateway(oauth_user, tmp_path, docker_engine):
    """The README's gateway walkthrough: enable a container server and an OAuth-protected remote server,
    run one gateway in front of both, and call a tool of each."""
    from tests.helpers.mcp_images import ensure_time_image

    image = ensure_time_image(docker_engine)
    oauth_user.plugin.env.update(docker_engine.env({}))
    port = free_port()
    remote = RemoteMcpServer(auth="oidc")
    client = oidc_client(port)
    with start_oidc(tmp_path, {"resource": remote.resource, "clients": [client, resource_server_client()]}) as oidc:
        remote.issuer, remote.introspection_client = oidc.issuer, resource_server_client()
        with remote:
            oauth_user.import_server(remote_entry("protected", remote.url, client_id="gateway-app", secret=True))
            oauth_user.import_server(f"name: time\ntype: server\nimage: {image}\nlongLived: true\n", "time.yaml")
            oauth_user.ok("mcp", "secret", "set", "protected.client_secret", input=SECRET)
            assert oauth_user.authorize("protected", port).returncode == 0
            oauth_user.ok("mcp", "server", "enable", "time", "protected")

            async def body(session):
                names = sorted(t.name for t in (await session.list_tools()).tools)
                assert names == ["convert_time", "get_current_time", "remote_add", "remote_echo", "remote_whoami"]
                now = await session.call_tool("get_current_time", {"timezone": "UTC"})
                assert not now.is_error and '"timezone": "UTC"' in now.content[0].text
                echoed = await session.call_tool("remote_echo", {"text": "both"})
                assert not echoed.is_error and echoed.content[0].text == "both"

            anyio.run(session_with_gateway, oauth_user, [], body)


def test_a_server_without_an_oauth_block_that_answers_401_is_authorized_as_the_hint_says(oauth_user, tmp_path):
    """Issue 14, case 6: a remote entry with no `oauth` block whose server answers 401 (RFC 9728 challenge,
    oidc-provider as its authorization server with dynamic client registration) is reported with the
    command that fixes it, not an MCP error; that command registers a client, the browser approves, and
    the same `tools ls` then lists the server's tools with the stored token."""
    port = free_port()
    remote = RemoteMcpServer(auth="oidc")
    config = {"resource": remote.resource, "clients": [resource_server_client()], "registration": True}
    with start_oidc(tmp_path, config) as oidc:
        remote.issuer, remote.introspection_client = oidc.issuer, resource_server_client()
        with remote:
            oauth_user.import_server(remote_entry("plain", remote.url))
            oauth_user.ok("mcp", "server", "enable", "plain")
            r = oauth_user.docker("mcp", "tools", "ls")
            assert "HTTP 401 from " in r.stderr, r.stdout + r.stderr
            assert "it wants an authorization: run 'docker mcp oauth authorize plain'" in r.stderr
            assert "MCPError" not in r.stderr and "Traceback" not in r.stderr

            r = oauth_user.authorize("plain", port)
            assert r.returncode == 0, r.stdout + r.stderr
            assert "dynamic client registration" in r.stdout
            record, token = oauth_user.stored("plain")
            assert record.client_type == "dcr" and token.access_token

            listed = oauth_user.ok("mcp", "tools", "ls")
            assert "remote_whoami" in listed
            who = oauth_user.ok("mcp", "tools", "call", "remote_whoami")
            assert record.client_id in who
            oauth_user.assert_nothing_leaked(token.access_token, token.refresh_token, record.client_secret)
