"""`docker mcp gateway run --transport streaming --stateless`: several replicas behind one address, any
of which may answer any request (issue 15, the way to run N replicas of a Swarm service).

The replicas are gateway processes (the built zipapp through the docker CLI) on two loopback ports. The
load balancer in front of them is `Alternating`, an httpx transport that sends each HTTP request to the
next replica in turn: the worst case of a balancer that spreads requests, as Swarm's VIP does for new
connections. The client is the MCP SDK's own (2025-11-25 and 2026-07-28), the server
tests/servers/features.py (remote, on loopback; and in a long-lived container)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.e2e.oauth_support import free_port
from tests.e2e.test_gateway_containers import engine_user, images  # noqa: F401  (fixtures)
from tests.e2e.test_gateway_http import start_gateway, stop
from tests.e2e.test_gateway_remote import LoopbackApp, import_remote
from tests.helpers.mcp_images import ensure_features_image
from tests.servers.features import Features

TOKEN = "stateless-test-token-" + "s" * 20
CALLS = 50

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")


class Alternating(httpx2.AsyncBaseTransport):
    """A load balancer: each request goes to the next of `ports` (127.0.0.1), in turn."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.sent = 0
        self.inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        request.url = request.url.copy_with(port=self.ports[self.sent % len(self.ports)])
        self.sent += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def balanced(ports: list[int]):
    client = httpx2.AsyncClient(transport=Alternating(ports), headers={"Authorization": f"Bearer {TOKEN}"})
    return streamable_http_client(f"http://127.0.0.1:{ports[0]}/mcp", http_client=client)


@contextlib.contextmanager
def replicas(user, *extra: str, count: int = 2) -> Iterator[tuple[list[int], list[str]]]:
    """`count` gateways on ports of their own; yields the ports and, once they stopped, their logs."""
    ports = [free_port() for _ in range(count)]
    processes = []
    logs: list[str] = []
    try:
        for port in ports:
            processes.append(start_gateway(user, "streaming", port, *extra, token=TOKEN))
        yield ports, logs
    finally:
        logs.extend(stop(p) for p in processes)


def calls_served(log: str) -> int:
    return log.count("Calling tool count")


def test_any_replica_answers_any_request_of_a_2025_11_25_and_a_2026_07_28_client(gateway_user, tmp_path):
    with LoopbackApp(Features().app("streamable-http")) as server:
        import_remote(gateway_user, tmp_path, "features", server.url)
        with replicas(gateway_user, "--servers", "features", "--stateless") as (ports, logs):

            async def handshake_era() -> None:
                reported: list[float] = []

                async def progress(value: float, total: float | None, message: str | None) -> None:
                    reported.append(value)

                async with balanced(ports) as (read, write), ClientSession(read, write) as session:
                    with anyio.fail_after(60):
                        await session.initialize()  # one replica
                        assert session.protocol_version == "2025-11-25"
                        for i in range(CALLS):  # the others, in turn
                            result = await session.call_tool("count", {"steps": 1 + i % 2}, progress_callback=progress)
                            assert not result.is_error and result.content[0].text == f"counted to {1 + i % 2}"
                        assert await session.list_tools()
                assert len(reported) == sum(1 + i % 2 for i in range(CALLS))  # progress rides each POST's stream

            async def modern() -> None:
                with anyio.fail_after(60):
                    async with Client(balanced(ports), mode="auto") as client:
                        assert client.protocol_version == "2026-07-28"
                        for _ in range(10):
                            result = await client.call_tool("count", {"steps": 1})
                            assert not result.is_error, result.content

            anyio.run(handshake_era)
            anyio.run(modern)
        assert all(calls_served(log) >= CALLS // 2 for log in logs), [calls_served(log) for log in logs]
        assert all("Traceback" not in log for log in logs), logs


def test_without_stateless_a_session_is_one_replica_s_so_a_balancer_breaks_it(gateway_user, tmp_path):
    """The case --stateless exists for: the session opened on one replica is unknown to the other (404)."""
    with LoopbackApp(Features().app("streamable-http")) as server:
        import_remote(gateway_user, tmp_path, "features", server.url)
        with replicas(gateway_user, "--servers", "features") as (ports, _):

            async def body() -> None:
                async with balanced(ports) as (read, write), ClientSession(read, write) as session:
                    with anyio.fail_after(60):
                        await session.initialize()
                        await session.call_tool("count", {"steps": 1})

            with pytest.raises(BaseExceptionGroup) as failed:
                anyio.run(body)
            assert failed.group_contains(MCPError, match="^Session not found$", depth=2), failed.value


def test_a_long_lived_container_server_is_one_container_per_replica_not_one_per_request(request, tmp_path):
    """A stateless replica has no client sessions to give containers of their own: with --long-lived,
    each replica keeps one container of the server, which every request shares."""
    user = request.getfixturevalue("engine_user")
    engine = request.getfixturevalue("docker_engine")
    image = ensure_features_image(engine)
    catalog = tmp_path / "features.yaml"
    catalog.write_text(
        f"name: features\nregistry:\n  features:\n    type: server\n    image: {image}\n    longLived: true\n"
    )
    assert user.docker("mcp", "catalog", "import", str(catalog)).returncode == 0

    def running() -> list[str]:
        r = user.docker("ps", "-q", "--filter", "label=docker-mcp-name=features")
        assert r.returncode == 0, r.stderr
        return r.stdout.split()

    with replicas(user, "--servers", "features", "--stateless", "--long-lived") as (ports, logs):

        async def body() -> None:
            async with balanced(ports) as (read, write), ClientSession(read, write) as session:
                with anyio.fail_after(120):
                    await session.initialize()
                    for _ in range(20):
                        result = await session.call_tool("protocol", {})
                        assert not result.is_error, result.content
                        assert result.content[0].text == "2025-11-25"

        anyio.run(body)
        assert len(running()) == 2, running()  # one per replica
    assert all("Traceback" not in log for log in logs), logs


def test_stateless_needs_the_streamable_http_transport(plugin):
    for transport in ("stdio", "sse"):
        r = plugin.docker("mcp", "gateway", "run", "--transport", transport, "--stateless")
        assert r.returncode == 125, (r.stdout, r.stderr)
        assert r.stderr.strip().splitlines()[0] == "cannot use --stateless without --transport=streaming"


def test_the_port_comes_from_mcp_gateway_port_unless_port_is_given(plugin):
    plugin.env["MCP_GATEWAY_PORT"] = "80x"
    r = plugin.docker("mcp", "gateway", "run", "--transport", "streaming")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.strip() == "MCP_GATEWAY_PORT='80x' is not a port number from 1 to 65535: set it to one, or unset it"
    r = plugin.docker("mcp", "gateway", "run", "--transport", "stdio", "--dry-run")  # stdio has no port
    assert "MCP_GATEWAY_PORT" not in r.stderr, r.stderr
    port = free_port()
    plugin.env["MCP_GATEWAY_PORT"] = str(port)
    process = start_gateway(plugin, "streaming", free_port(), "--allow-unauthenticated", token=None)  # --port wins
    assert f"on port {port}" not in stop(process)
