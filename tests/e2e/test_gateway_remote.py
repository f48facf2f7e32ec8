"""`docker mcp gateway run` (the built zipapp through the docker CLI) in front of remote MCP servers,
spoken to by the MCP SDK's own client over stdio."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import threading
import time

import anyio
import pytest
import uvicorn
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.server.mcpserver import MCPServer

from tests.e2e.conftest import DOCKER


class LoopbackApp:
    """An ASGI app served by uvicorn in a thread, on a free port of 127.0.0.1, for a `with` block."""

    def __init__(self, app, path: str = "/mcp") -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}{path}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="on"))

    def __enter__(self):
        threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True).start()
        deadline = time.time() + 10
        while not self._server.started and time.time() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True


class LocalServer(LoopbackApp):
    """A real MCP SDK server over streamable HTTP on 127.0.0.1 (no auth)."""

    def __init__(self, name: str) -> None:
        self.mcp = MCPServer(name)
        self.calls = 0

        @self.mcp.tool()
        def echo(text: str) -> str:
            self.calls += 1
            return f"{name}: {text}"

        @self.mcp.tool()
        def fail(text: str) -> str:
            raise RuntimeError("the backend tool failed")

        super().__init__(self.mcp.streamable_http_app())


def import_remote(user, tmp_path, name: str, url: str, extra: str = "") -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\ntype: remote\nremote:\n  url: {url}\n{extra}")
    r = user.docker("mcp", "catalog", "import", str(path))
    assert r.returncode == 0, r.stderr


async def with_gateway(user, args: list[str], body):
    params = StdioServerParameters(command=DOCKER, args=["mcp", "gateway", "run", *args], env=user.env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return await body(session)


def test_dry_run_lists_each_servers_tools(gateway_user, tmp_path):
    with LocalServer("alpha") as alpha:
        import_remote(gateway_user, tmp_path, "alpha", alpha.url)
        assert gateway_user.docker("mcp", "server", "enable", "alpha").returncode == 0
        r = gateway_user.docker("mcp", "gateway", "run", "--dry-run")
        assert r.returncode == 0, r.stderr
        assert r.stdout == ""
        assert "> alpha: 2 tools: echo, fail" in r.stderr


def test_a_client_lists_and_calls_tools_and_a_failing_tool_fails_only_that_call(gateway_user, tmp_path):
    with LocalServer("alpha") as alpha:
        import_remote(gateway_user, tmp_path, "alpha", alpha.url)

        async def body(session):
            tools = await session.list_tools()
            assert sorted(t.name for t in tools.tools) == ["echo", "fail"]
            ok = await session.call_tool("echo", {"text": "hello"})
            assert not ok.is_error and ok.content[0].text == "alpha: hello"
            failed = await session.call_tool("fail", {"text": "x"})
            assert failed.is_error and "Error executing tool fail" in failed.content[0].text  # as the backend said
            unknown = await session.call_tool("nope", {})
            assert unknown.is_error and unknown.content[0].text == "unknown tool: nope"
            again = await session.call_tool("echo", {"text": "still here"})
            assert again.content[0].text == "alpha: still here"

        anyio.run(with_gateway, gateway_user, ["--servers", "alpha"], body)
        assert alpha.calls == 2


def test_an_unreachable_server_is_reported_and_the_rest_keeps_working(gateway_user, tmp_path):
    with LocalServer("alpha") as alpha:
        import_remote(gateway_user, tmp_path, "alpha", alpha.url)
        import_remote(gateway_user, tmp_path, "gone", "http://127.0.0.1:9/mcp")
        r = gateway_user.docker("mcp", "gateway", "run", "--servers", "alpha,gone", "--dry-run")
        assert r.returncode == 0, r.stderr
        assert "! gone: cannot connect" in r.stderr and "> alpha: 2 tools" in r.stderr


def test_a_tool_name_offered_twice_is_a_startup_error_naming_both_servers(gateway_user, tmp_path):
    with LocalServer("alpha") as alpha, LocalServer("beta") as beta:
        import_remote(gateway_user, tmp_path, "alpha", alpha.url)
        import_remote(gateway_user, tmp_path, "beta", beta.url)
        r = gateway_user.docker("mcp", "gateway", "run", "--servers", "alpha,beta", "--dry-run")
        assert r.returncode == 1
        assert r.stderr.strip().splitlines()[-1].startswith('tool "echo" is offered by both alpha and beta')
        # --tools picks one of them: no collision left
        r = gateway_user.docker("mcp", "gateway", "run", "--servers", "alpha", "--tools", "fail", "--dry-run")
        assert r.returncode == 0 and "> alpha: 1 tools: fail" in r.stderr


def test_an_unknown_server_stops_the_gateway_before_it_starts(gateway_user):
    r = gateway_user.docker("mcp", "gateway", "run", "--servers", "ghost", "--dry-run")
    assert r.returncode == 1 and r.stderr.startswith('server "ghost" not found in any configured catalog: ')


def test_tools_commands_see_what_a_client_of_the_gateway_sees(gateway_user, tmp_path):
    import json

    with LocalServer("alpha") as alpha:
        import_remote(gateway_user, tmp_path, "alpha", alpha.url)
        assert gateway_user.docker("mcp", "server", "enable", "alpha").returncode == 0
        listed = json.loads(gateway_user.docker("mcp", "tools", "ls", "--format", "json").stdout)
        assert [(t["name"], t["server"]) for t in listed] == [("echo", "alpha"), ("fail", "alpha")]
        assert listed[0]["inputSchema"]["properties"]["text"]["type"] == "string"
        assert gateway_user.docker("mcp", "tools", "count").stdout == "2 tools\n"
        inspected = json.loads(gateway_user.docker("mcp", "tools", "inspect", "echo").stdout)
        assert inspected["name"] == "echo" and inspected["server"] == "alpha"
        r = gateway_user.docker("mcp", "tools", "call", "echo", "text=hi there")
        assert (r.returncode, r.stdout) == (0, "alpha: hi there\n")
        r = gateway_user.docker("mcp", "tools", "call", "fail", "text=x")
        assert r.returncode == 1 and "Error executing tool fail" in r.stdout
        r = gateway_user.docker("mcp", "tools", "call", "nope")
        assert r.returncode == 1 and r.stderr == "tool \"nope\" not found: run 'docker mcp tools ls' to list them\n"
        r = gateway_user.docker("mcp", "tools", "call", "echo", "not-a-pair")
        assert r.returncode == 125


def test_prompts_and_resources_are_aggregated_and_routed(gateway_user, tmp_path):
    from tests.servers.mcp_remote import RemoteMcpServer

    with RemoteMcpServer(auth=None, tool_prefix="one") as one, RemoteMcpServer(auth=None, tool_prefix="two") as two:
        import_remote(gateway_user, tmp_path, "one", one.url)
        import_remote(gateway_user, tmp_path, "two", two.url)

        async def body(session):
            prompts = sorted(p.name for p in (await session.list_prompts()).prompts)
            assert prompts == ["one_greeting", "two_greeting"]
            greeting = await session.get_prompt("two_greeting", {"name": "Ada"})
            assert "Hello, Ada!" in greeting.messages[0].content.text
            resources = sorted(str(r.uri) for r in (await session.list_resources()).resources)
            assert resources == ["one://info", "two://info"]
            info = await session.read_resource("one://info")
            assert '"one' in info.contents[0].text
            tools = sorted(t.name for t in (await session.list_tools()).tools)
            assert tools == ["one_add", "one_echo", "one_whoami", "two_add", "two_echo", "two_whoami"]

        anyio.run(with_gateway, gateway_user, ["--servers", "one,two"], body)


def test_an_sse_remote_and_a_remote_answering_500(gateway_user, tmp_path):
    from tests.servers.mcp_remote import RemoteMcpServer

    with (
        RemoteMcpServer(auth=None, transport="sse", tool_prefix="legacy") as legacy,
        RemoteMcpServer(auth=None, tool_prefix="broken", fault="500") as broken,
    ):
        import_remote(gateway_user, tmp_path, "legacy", legacy.url, "  transport_type: sse\n")
        import_remote(gateway_user, tmp_path, "broken", broken.url)
        r = gateway_user.docker("mcp", "gateway", "run", "--servers", "legacy,broken", "--dry-run")
        assert r.returncode == 0, r.stderr
        assert "> legacy: 3 tools: legacy_add, legacy_echo, legacy_whoami" in r.stderr
        assert "! broken: " in r.stderr

        async def body(session):
            result = await session.call_tool("legacy_add", {"a": 2, "b": 3})
            assert not result.is_error and result.content[0].text == "5"

        anyio.run(with_gateway, gateway_user, ["--servers", "legacy,broken"], body)


def test_tool_name_prefix_feature_and_tools_patterns(gateway_user, tmp_path):
    with LocalServer("alpha") as alpha, LocalServer("beta") as beta:
        import_remote(gateway_user, tmp_path, "alpha", alpha.url)
        import_remote(gateway_user, tmp_path, "beta", beta.url, "prefix: b\n")
        r = gateway_user.docker("mcp", "gateway", "run", "--servers", "alpha,beta", "--tools", "alpha:*", "--dry-run")
        assert r.returncode == 0 and "> alpha: 2 tools: echo, fail" in r.stderr and "beta" not in r.stderr
        assert gateway_user.docker("mcp", "feature", "enable", "tool-name-prefix").returncode == 0

        async def body(session):
            names = sorted(t.name for t in (await session.list_tools()).tools)
            assert names == ["alpha__echo", "alpha__fail", "b__echo", "b__fail"]  # beta's catalog prefix wins
            result = await session.call_tool("b__echo", {"text": "routed"})
            assert result.content[0].text == "beta: routed"  # beta got its own tool name

        anyio.run(with_gateway, gateway_user, ["--servers", "alpha,beta"], body)
        assert beta.calls == 1 and alpha.calls == 0


INSPECTOR = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "clients", "inspector", "node_modules", ".bin", "mcp-inspector"
)


def test_the_mcp_inspector_cli_lists_and_calls_tools_through_the_gateway(gateway_user, tmp_path):
    assert os.access(INSPECTOR, os.X_OK), "scripts/test installs the MCP Inspector (npm ci in tests/clients/inspector)"
    with LocalServer("alpha") as alpha:
        import_remote(gateway_user, tmp_path, "alpha", alpha.url)
        command = [INSPECTOR, "--cli", DOCKER, "mcp", "gateway", "run", "--servers", "alpha", "--method"]
        listed = subprocess.run(
            [*command, "tools/list"], env=gateway_user.env, capture_output=True, text=True, timeout=120
        )
        assert listed.returncode == 0, listed.stdout + listed.stderr
        assert sorted(t["name"] for t in json.loads(listed.stdout)["tools"]) == ["echo", "fail"]
        called = subprocess.run(
            [*command, "tools/call", "--tool-name", "echo", "--tool-arg", "text=inspected"],
            env=gateway_user.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert called.returncode == 0, called.stdout + called.stderr
        result = json.loads(called.stdout)
        assert result["isError"] is False and result["content"][0]["text"] == "alpha: inspected"


def test_a_remote_that_starts_answering_500_fails_that_call_and_the_next_healthy_call_works(gateway_user, tmp_path):
    from tests.servers.mcp_remote import RemoteMcpServer

    with (
        RemoteMcpServer(auth=None, tool_prefix="flaky") as flaky,
        RemoteMcpServer(auth=None, tool_prefix="steady") as steady,
    ):
        import_remote(gateway_user, tmp_path, "flaky", flaky.url)
        import_remote(gateway_user, tmp_path, "steady", steady.url)

        async def body(session):
            assert not (await session.call_tool("flaky_add", {"a": 1, "b": 1})).is_error
            flaky.fault = "500"
            failed = await session.call_tool("flaky_add", {"a": 2, "b": 2})
            assert failed.is_error and failed.content[0].text.startswith("flaky: "), failed.content
            ok = await session.call_tool("steady_add", {"a": 2, "b": 3})
            assert not ok.is_error and ok.content[0].text == "5"
            return failed.content[0].text

        text = anyio.run(with_gateway, gateway_user, ["--servers", "flaky,steady"], body)
        assert "500" in text, text


def test_a_remote_url_on_a_private_address_is_refused_unless_local_testing_is_on(gateway_user, tmp_path):
    """The URL rule OAuth follows holds for the gateway's remote connections too, DNS answers included."""
    host = socket.gethostname()
    if any(ipaddress.ip_address(i[4][0]).is_global for i in socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)):
        pytest.skip(f"{host} resolves to a public address on this machine")
    import_remote(gateway_user, tmp_path, "inside", f"https://{host}/mcp")
    off = {"DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS": ""}
    r = gateway_user.docker("mcp", "gateway", "run", "--servers", "inside", "--dry-run", env=off)
    assert r.returncode == 1, r.stderr
    assert (
        f"! inside: invalid remote server URL https://{host}/mcp: host '{host.lower()}' resolved to disallowed address"
        in r.stderr
    )
    # with the local-testing flag the gateway tries it (and finds nothing listening on 443 here)
    r = gateway_user.docker("mcp", "gateway", "run", "--servers", "inside", "--dry-run")
    assert "resolved to disallowed address" not in r.stderr and "! inside: " in r.stderr
