"""The gateway's lane for plain tool calls (docker_mcp/gateway/lane.py): a `tools/call` that goes from
the client's transport straight to the container server's, the request id remapped, and what the server
sends during the call still reaching the client. The built zipapp through the real docker CLI, the MCP
SDK's client, tests/servers/features.py in a long-lived container on a real Docker engine.

Which path a call took is seen from the server: its `request_id` tool answers the JSON-RPC id it got.
Through the router that is the gateway's client session's count (small); through the lane it is the
lane's (from 2**40). A client session's first call goes through the router (which tells the lane the
session), later plain ones through the lane.

stdio front: sampling, elicitation and roots asked during a call in the lane reach the client (the one
client of a stdio gateway); log messages too; a call with a progress token takes the router and its
progress arrives; a call the client cancels is cancelled in the server, and answered no more; a server
that dies during a call in the lane gives that call an error result, and the next call starts it again.
Streamable HTTP front: a session whose client declared no sampling, elicitation or roots takes the lane,
and the log messages of its call arrive on the call's own stream, a server's question is refused
cleanly, and a call the client cancels is cancelled in the server; a session that declared them keeps
the router (the server's requests need the call's stream, which only the router knows), and `--log-calls`
logs both paths' calls alike.

Every wait on the network is bounded (anyio.fail_after)."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.oauth_support import free_port
from tests.e2e.test_gateway_containers import engine_user, images  # noqa: F401  (fixtures)
from tests.e2e.test_gateway_http import TOKEN, start_gateway, stop
from tests.e2e.test_gateway_passthrough import CALL, CONNECT, Client, call, eventually, snapshot, stdio_front
from tests.helpers.mcp_images import ensure_features_image

LANE_IDS = 1 << 40  # lane.FIRST_LANE_ID: the lane's request ids start there
pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")


async def request_id(session: ClientSession) -> int:
    """The id the server got for a call of its request_id tool."""
    got = json.loads(await call(session, "request_id"))
    assert isinstance(got, int), got
    return got


def test_plain_calls_on_stdio_take_the_lane_and_keep_every_feature(request, tmp_path):
    client = Client()
    reported: list[tuple[float, float | None, str | None]] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        reported.append((value, total, message))

    async def body(session: ClientSession) -> None:
        assert await request_id(session) < LANE_IDS  # the first call: the router
        first = await request_id(session)
        assert first >= LANE_IDS
        assert await request_id(session) == first + 1

        # the server asks the client during a call in the lane
        assert await call(session, "sample", {"prompt": "2+2?"}) == "test-model: you asked: 2+2?"
        answer = json.loads(await call(session, "ask", {"question": "Who are you?"}))
        assert answer == {"action": "accept", "content": {"name": "Ada", "age": 36}}
        assert json.loads(await call(session, "roots")) == ["file:///work/first"]
        assert len(client.sampled) == 1 and len(client.elicited) == 1 and client.roots_asked == 1

        everything = ["debug", "info", "notice", "warning", "error"]
        assert json.loads(await call(session, "log")) == everything
        await eventually("five log messages", snapshot(lambda: client.logs), lambda logs: len(logs) == 5)

        # a progress token: the router's path, which maps it
        assert await call(session, "count", {"steps": 2}, progress_callback=progress) == "counted to 2"
        await eventually("two progress reports", snapshot(lambda: reported), lambda r: len(r) == 2)

        # cancelled by the client: the server cancels its handler
        with anyio.move_on_after(2) as scope:
            await session.call_tool("slow", {"seconds": 60, "label": "abandoned"})
        assert scope.cancelled_caught

        async def cancellations() -> Any:
            return json.loads(await call(session, "cancellations"))

        state = await eventually("the server's slow call is cancelled", cancellations, lambda s: s["cancelled"])
        assert state["cancelled"] == ["abandoned"]
        assert await request_id(session) >= LANE_IDS

        # the server dies during a call in the lane: an error result, then a new container
        with anyio.fail_after(CALL):
            died = await session.call_tool("exit", {})
        assert died.is_error
        text = died.content[0].text if isinstance(died.content[0], types.TextContent) else ""
        assert text.startswith("features: "), text
        assert await request_id(session) < LANE_IDS  # reconnected through the router
        assert await request_id(session) >= LANE_IDS

    with stdio_front(request, tmp_path, modern_only=False) as front:
        front.run(body, client)


def test_plain_calls_of_an_http_session_take_the_lane_unless_its_client_takes_requests(
    engine_user,  # noqa: F811
    docker_engine,
    tmp_path,
):
    image = ensure_features_image(docker_engine)
    catalog = tmp_path / "features.yaml"
    catalog.write_text(
        f"name: features\nregistry:\n  features:\n    type: server\n    image: {image}\n    longLived: true\n"
    )
    r = engine_user.docker("mcp", "catalog", "import", str(catalog))
    assert r.returncode == 0, r.stderr
    port = free_port()
    gateway = start_gateway(engine_user, "streaming", port, "--servers", "features")
    url = f"http://127.0.0.1:{port}/mcp"

    async def session(client: Client, **callbacks: Any) -> Any:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"})
        async with (
            http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write, **callbacks) as opened,
        ):
            with anyio.fail_after(CONNECT):
                await opened.initialize()
            return await plain(opened, client) if not callbacks.get("elicitation_callback") else await asks(opened)

    async def plain(opened: ClientSession, client: Client) -> None:
        assert await request_id(opened) < LANE_IDS
        assert await request_id(opened) >= LANE_IDS
        # the log messages of a call in the lane ride its POST's stream, before its result
        assert json.loads(await call(opened, "log")) == ["debug", "info", "notice", "warning", "error"]
        assert len(client.logs) == 5, client.logs
        # no elicitation declared: the server's question is refused, cleanly, in the lane too
        with anyio.fail_after(CALL):
            refused = await opened.call_tool("ask", {"question": "anyone?"})
        assert refused.is_error
        # cancelled by the client (notifications/cancelled on a POST of its own): cancelled in the server
        with anyio.move_on_after(2) as scope:
            await opened.call_tool("slow", {"seconds": 60, "label": "abandoned over http"})
        assert scope.cancelled_caught

        async def cancellations() -> Any:
            return json.loads(await call(opened, "cancellations"))

        state = await eventually("the server's slow call is cancelled", cancellations, lambda s: s["cancelled"])
        assert state["cancelled"] == ["abandoned over http"]

    async def asks(opened: ClientSession) -> None:
        assert await request_id(opened) < LANE_IDS
        assert await request_id(opened) < LANE_IDS  # it declared elicitation: the router, always
        answer = json.loads(await call(opened, "ask", {"question": "Who are you?"}))
        assert answer == {"action": "accept", "content": {"name": "Ada", "age": 36}}

    async def main() -> None:
        plain_client, asking = Client(), Client()
        await session(plain_client, logging_callback=plain_client.logging)
        await session(asking, elicitation_callback=asking.elicitation)

    try:
        anyio.run(main)
    finally:
        log = stop(gateway)
        print(log)
    # --log-calls: both paths log a call the same way
    assert log.count("Calling tool request_id with arguments: object with 0 field(s)") == 4, log
    assert log.count("> Calling tool request_id took: ") == 4, log
