"""The gateway's HTTP fronts (streamable HTTP and SSE) through the docker CLI: the bearer token is
required everywhere but /health, and the MCP SDK client lists and calls tools over each."""

from __future__ import annotations

import signal
import subprocess
import time

import anyio
import httpx2
import pytest
import requests
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.conftest import DOCKER
from tests.e2e.oauth_support import free_port
from tests.e2e.test_gateway_remote import LocalServer, import_remote

TOKEN = "gateway-test-token-" + "x" * 20


def start_gateway(user, transport: str, port: int, *extra: str, token: str | None = TOKEN):
    env = {**user.env, **({"MCP_GATEWAY_AUTH_TOKEN": token} if token else {})}
    process = subprocess.Popen(
        [DOCKER, "mcp", "gateway", "run", "--transport", transport, "--port", str(port), *extra],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except requests.ConnectionError:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read()) from None
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the gateway did not become healthy")


def stop(process) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err


@pytest.mark.parametrize("transport", ["streaming", "sse"])
def test_http_front_needs_the_bearer_token_and_serves_tools(plugin, tmp_path, transport):
    plugin.env["DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS"] = "1"
    port = free_port()
    with LocalServer("alpha") as alpha:
        import_remote(plugin, tmp_path, "alpha", alpha.url)
        gateway = start_gateway(plugin, transport, port, "--servers", "alpha")
        try:
            path = "/mcp" if transport == "streaming" else "/sse"
            url = f"http://127.0.0.1:{port}{path}"
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"bearer {TOKEN}"}):
                r = requests.get(url, headers=headers, timeout=5)
                assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Bearer realm="MCP Gateway"'
            # a page of another origin cannot use the gateway even with the token (DNS rebinding)
            bearer = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json, text/event-stream"}
            r = requests.get(url, headers={**bearer, "Origin": "http://evil.example"}, timeout=5)
            assert r.status_code == 403 and "Origin" in r.text
            r = requests.get(url, headers={**bearer, "Host": "evil.example:80"}, timeout=5)
            assert r.status_code == 421

            async def client():
                auth = {"Authorization": f"Bearer {TOKEN}"}
                if transport == "streaming":
                    async with (
                        httpx2.AsyncClient(headers=auth) as http,
                        streamable_http_client(url, http_client=http) as (read, write),
                        ClientSession(read, write) as session,
                    ):
                        await session.initialize()
                        return await exercise(session)
                async with sse_client(url, headers=auth) as (read, write), ClientSession(read, write) as session:
                    await session.initialize()
                    return await exercise(session)

            async def exercise(session):
                tools = await session.list_tools()
                result = await session.call_tool("echo", {"text": transport})
                return sorted(t.name for t in tools.tools), result.content[0].text

            assert anyio.run(client) == (["echo", "fail"], f"alpha: {transport}")
        finally:
            err = stop(gateway)
        assert f"> Gateway URL: http://localhost:{port}{path}" in err
        assert "> Use Bearer token from MCP_GATEWAY_AUTH_TOKEN environment variable" in err
        assert TOKEN not in err


def test_a_generated_token_is_announced_and_allow_unauthenticated_turns_it_off(plugin, tmp_path):
    plugin.env["DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS"] = "1"
    port = free_port()
    with LocalServer("alpha") as alpha:
        import_remote(plugin, tmp_path, "alpha", alpha.url)
        gateway = start_gateway(plugin, "streaming", port, "--servers", "alpha", token=None)
        err = stop(gateway)
        [line] = [x for x in err.splitlines() if x.startswith("> Use Bearer token: Authorization: Bearer ")]
        assert len(line.rsplit(" ", 1)[1]) == 50
        gateway = start_gateway(plugin, "streaming", port, "--servers", "alpha", "--allow-unauthenticated", token=None)
        try:
            assert requests.get(f"http://127.0.0.1:{port}/mcp", timeout=5).status_code != 401
        finally:
            err = stop(gateway)
        assert "> Authentication disabled by explicit configuration" in err
