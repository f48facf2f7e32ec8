"""Protocol versions at the gateway's front: the MCP SDK's own client (`mcp.Client`, mode "auto": it
probes `server/discover` and speaks the stateless 2026-07-28 revision when the server offers it) through
`docker mcp gateway run --transport streaming` (the built zipapp through the docker CLI) to a real MCP
SDK server over streamable HTTP, next to a 2025-06-18 client on the same gateway."""

from __future__ import annotations

import json

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import Context, MCPServer

from tests.e2e.oauth_support import free_port
from tests.e2e.test_gateway_containers import engine_user, images  # noqa: F401  (fixtures)
from tests.e2e.test_gateway_http import start_gateway, stop
from tests.e2e.test_gateway_remote import LoopbackApp, import_remote
from tests.helpers.mcp_images import ensure_features_image

TOKEN = "versions-test-token-" + "z" * 20


class Server(LoopbackApp):
    def __init__(self) -> None:
        mcp = MCPServer("versions")

        @mcp.tool()
        async def work(steps: int, ctx: Context) -> str:
            for i in range(steps):
                await ctx.report_progress(i + 1, steps, f"step {i + 1}")
            await ctx.info("done working")
            return f"worked {steps}"

        super().__init__(mcp.streamable_http_app())


def transport(url: str):
    return streamable_http_client(url, http_client=httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}))


@pytest.mark.filterwarnings("ignore:The logging capability is deprecated")
def test_a_2026_07_28_client_and_a_2025_06_18_client_on_one_gateway(gateway_user, tmp_path):
    with Server() as server:
        import_remote(gateway_user, tmp_path, "versions", server.url)
        assert gateway_user.docker("mcp", "server", "enable", "versions").returncode == 0
        port = free_port()
        process = start_gateway(gateway_user, "streaming", port, token=TOKEN)
        url = f"http://127.0.0.1:{port}/mcp"
        try:

            async def modern() -> None:
                progress: list[tuple[float, float | None, str | None]] = []
                logs: list[str] = []

                async def on_log(params) -> None:
                    logs.append(str(params.data))

                async def on_progress(value: float, total: float | None, message: str | None) -> None:
                    progress.append((value, total, message))

                with anyio.fail_after(30):
                    async with Client(transport(url), mode="auto", log_level="info", logging_callback=on_log) as client:
                        assert client.protocol_version == "2026-07-28"
                        tools = await client.list_tools()
                        assert [t.name for t in tools.tools] == ["work"]
                        result = await client.call_tool("work", {"steps": 3}, progress_callback=on_progress)
                        assert result.content[0].text == "worked 3"
                assert progress == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]
                assert logs == ["done working"]

            async def old() -> None:
                async with transport(url) as (read, write), ClientSession(read, write) as session:
                    with anyio.fail_after(30):
                        # the SDK client's handshake, at the version an older client asks for
                        result = await session.send_request(
                            types.InitializeRequest(
                                params=types.InitializeRequestParams(
                                    protocol_version="2025-06-18",
                                    capabilities=types.ClientCapabilities(),
                                    client_info=types.Implementation(name="old-client", version="1"),
                                )
                            ),
                            types.InitializeResult,
                        )
                        assert result.protocol_version == "2025-06-18"
                        session.adopt(result)
                        await session.send_notification(types.InitializedNotification())
                        called = await session.call_tool("work", {"steps": 1})
                        assert called.content[0].text == "worked 1"

            anyio.run(modern)
            anyio.run(old)
        finally:
            stop(process)


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
def test_a_2026_07_28_client_calls_a_container_server_connected_at_2025_11_25(request, docker_engine, tmp_path):
    """The client's requests carry the 2026-07-28 envelope in `_meta` (io.modelcontextprotocol/*); the
    gateway must not pass it to a server it connected at 2025-11-25 (tests/servers/features.py in a
    long-lived container), which refuses such a request with -32600."""
    user = request.getfixturevalue("engine_user")
    image = ensure_features_image(docker_engine)
    catalog = tmp_path / "features.yaml"
    catalog.write_text(
        f"name: features\nregistry:\n  features:\n    type: server\n    image: {image}\n    longLived: true\n"
    )
    r = user.docker("mcp", "catalog", "import", str(catalog))
    assert r.returncode == 0, r.stderr
    port = free_port()
    process = start_gateway(user, "streaming", port, "--servers", "features", token=TOKEN)
    url = f"http://127.0.0.1:{port}/mcp"
    try:

        async def modern() -> None:
            progress: list[float] = []

            async def on_progress(value: float, total: float | None, message: str | None) -> None:
                progress.append(value)

            with anyio.fail_after(90):
                async with Client(transport(url), mode="auto") as client:
                    assert client.protocol_version == "2026-07-28"
                    tools = await client.list_tools()
                    assert {"protocol", "count"} <= {t.name for t in tools.tools}
                    result = await client.call_tool("protocol", {})
                    assert not result.is_error, result.content
                    assert result.content[0].text == "2025-11-25"
                    result = await client.call_tool("count", {"steps": 2}, progress_callback=on_progress)
                    assert not result.is_error, result.content
                    assert result.content[0].text == "counted to 2"
            assert progress == [1, 2]

        anyio.run(modern)
    finally:
        print(stop(process))  # the gateway's log, shown when the test fails


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
def test_a_2026_07_28_client_answers_a_2026_07_28_server_s_input_required_result_itself(gateway_user, tmp_path):
    """Client and server both at 2026-07-28 (tests/servers/features.py, modern only): the server's
    input_required result (SEP-2322) reaches the client as it came, the SDK client asks its user (the
    elicitation callback) and sends the call again with the answer and the request state, which the
    gateway passes to the server untouched."""
    from tests.servers.features import Features

    with LoopbackApp(Features(modern_only=True).app("streamable-http")) as server:
        import_remote(gateway_user, tmp_path, "features", server.url)
        port = free_port()
        process = start_gateway(gateway_user, "streaming", port, "--servers", "features", token=TOKEN)
        url = f"http://127.0.0.1:{port}/mcp"
        asked: list[str] = []

        async def elicitation(ctx, params: types.ElicitRequestParams) -> types.ElicitResult:
            asked.append(params.message)
            return types.ElicitResult(action="accept", content={"name": "Grace"})

        try:

            async def modern() -> None:
                with anyio.fail_after(30):
                    async with Client(transport(url), mode="auto", elicitation_callback=elicitation) as client:
                        assert client.protocol_version == "2026-07-28"
                        result = await client.call_tool("ask", {"question": "Who?"})
                        assert not result.is_error, result.content
                        assert json.loads(result.content[0].text) == {
                            "action": "accept",
                            "content": {"name": "Grace"},
                            "state": json.dumps({"asked": "Who?"}),
                        }

            anyio.run(modern)
            assert asked == ["Who?"]
        finally:
            print(stop(process))  # the gateway's log, shown when the test fails


def test_docker_mcp_tools_speaks_2026_07_28_to_a_server_of_both_eras(gateway_user, tmp_path):
    """`docker mcp tools` serves no client of its own, so it negotiates as the SDK's auto mode does
    (server/discover first): a server of both eras (tests/servers/features.py) is called at 2026-07-28.
    Its input_required question has nobody to answer it: one line says so, exit 1."""
    from tests.servers.features import Features

    with LoopbackApp(Features().app("streamable-http")) as server:
        import_remote(gateway_user, tmp_path, "features", server.url)
        r = gateway_user.docker("mcp", "tools", "call", "--servers", "features", "protocol")
        assert (r.returncode, r.stdout.strip()) == (0, "2026-07-28"), r.stderr
        r = gateway_user.docker("mcp", "tools", "call", "--servers", "features", "ask", "question=Who?")
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert r.stdout.strip() == (
            "features: the server asked for elicitation/create, which docker mcp tools cannot answer: "
            "call the tool from an MCP client through docker mcp gateway run"
        )
        assert "Traceback" not in r.stderr
