"""Bounded resources of `docker mcp gateway run --transport streaming` (the built zipapp through the docker
CLI) in front of real MCP SDK servers over streamable HTTP on loopback: abandoned client sessions are
reaped and give back their file descriptors, a hung server holds up no other server in the same client
session, a call the client abandons is cancelled upstream, and a server's oversized answer fails that
call only. A call's answer is JSON when its result comes first and a stream when progress does. The
gateway process is measured through /proc (its RSS and open descriptors)."""

from __future__ import annotations

import json
import os
import threading
import time

import anyio
import pytest
import requests
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import Context, MCPServer

from tests.e2e.oauth_support import free_port
from tests.e2e.test_gateway_http import start_gateway, stop
from tests.e2e.test_gateway_remote import LoopbackApp, import_remote

TOKEN = "bounds-test-token-" + "y" * 20
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json, text/event-stream"}


class Backend(LoopbackApp):
    """An MCP SDK server with a tool that answers, one that hangs until cancelled (counting the calls in
    flight and the cancellations), and one that answers `size` bytes of text."""

    def __init__(self, name: str) -> None:
        self.mcp = MCPServer(name)
        self.in_flight = 0
        self.cancelled = 0
        self.lock = threading.Lock()

        @self.mcp.tool(name=f"{name}_echo")
        def echo(text: str) -> str:
            return f"{name}: {text}"

        @self.mcp.tool(name=f"{name}_hang")
        async def hang() -> str:
            with self.lock:
                self.in_flight += 1
            try:
                await anyio.sleep(3600)
            except anyio.get_cancelled_exc_class():
                with self.lock:
                    self.cancelled += 1
                raise
            finally:
                with self.lock:
                    self.in_flight -= 1
            return "never"

        @self.mcp.tool(name=f"{name}_steps")
        async def steps(ctx: Context) -> str:
            await ctx.report_progress(1, 2, "half way")
            return f"{name}: done"

        @self.mcp.tool(name=f"{name}_big")
        def big(size: int) -> str:
            return "x" * size

        super().__init__(self.mcp.streamable_http_app())


def plugin_pid(docker_cli_pid: int) -> int:
    """The docker-mcp process the docker CLI started (its child)."""
    deadline = time.time() + 10
    while time.time() < deadline:
        children = []
        for task in os.listdir(f"/proc/{docker_cli_pid}/task"):  # the Go runtime forks from any thread
            try:
                with open(f"/proc/{docker_cli_pid}/task/{task}/children") as f:
                    children += [int(p) for p in f.read().split()]
            except OSError:
                pass
        if children:
            return children[0]
        time.sleep(0.1)
    raise AssertionError("the docker CLI started no plugin process")


def usage(pid: int) -> tuple[int, int]:
    """(RSS in KiB, open file descriptors) of a process."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def open_session(http: requests.Session, url: str) -> str:
    """initialize (2025-11-25) and notifications/initialized, then leave: an abandoned client session."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "load", "version": "0"}},
    }
    r = http.post(url, json=body, headers=HEADERS, timeout=10)
    assert r.status_code == 200, (r.status_code, r.text[:200])
    session = r.headers["mcp-session-id"]
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    http.post(
        url, json=note, headers={**HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}, timeout=10
    )
    return session


async def call(url: str, tool: str, arguments: dict, timeout: float = 30) -> str:
    import httpx2

    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as client,
        streamable_http_client(url, http_client=client) as (read, write),
        ClientSession(read, write) as session,
    ):
        with anyio.fail_after(timeout):
            await session.initialize()
            result = await session.call_tool(tool, arguments)
        return "\n".join(getattr(c, "text", "") for c in result.content)


@pytest.fixture
def gateway(gateway_user, tmp_path):
    """A streaming gateway in front of two backends, a and b; yields (url, docker CLI process, backends)."""
    with Backend("a") as a, Backend("b") as b:
        import_remote(gateway_user, tmp_path, "a", a.url)
        import_remote(gateway_user, tmp_path, "b", b.url)
        assert gateway_user.docker("mcp", "server", "enable", "a", "b").returncode == 0
        port = free_port()
        gateway_user.env["DOCKER_MCP_SESSION_IDLE_TIMEOUT"] = "3"
        gateway_user.env["DOCKER_MCP_MAX_MESSAGE_BYTES"] = str(1024 * 1024)
        process = start_gateway(gateway_user, "streaming", port, token=TOKEN)
        try:
            yield f"http://127.0.0.1:{port}/mcp", process, (a, b)
        finally:
            stop(process)


def test_a_result_that_comes_first_is_answered_as_json_and_one_after_progress_as_a_stream(gateway):
    url, _, _ = gateway
    with requests.Session() as http:
        session = open_session(http, url)
        headers = {**HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}

        def call_tool(name: str, meta: dict | None = None) -> requests.Response:
            params: dict = {"name": name, "arguments": {"text": "hi"} if name == "a_echo" else {}}
            if meta:
                params["_meta"] = meta
            body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params}
            return http.post(url, json=body, headers=headers, timeout=30)

        plain = call_tool("a_echo")
        assert plain.status_code == 200 and plain.headers["content-type"].startswith("application/json"), plain.headers
        assert plain.json()["result"]["content"][0]["text"] == "a: hi"
        assert plain.headers["mcp-session-id"] == session

        streamed = call_tool("a_steps", {"progressToken": "p-1"})
        assert streamed.headers["content-type"].startswith("text/event-stream"), streamed.headers
        events = [json.loads(line[5:]) for line in streamed.text.splitlines() if line.startswith("data:")]
        assert [e.get("method") or "result" for e in events] == ["notifications/progress", "result"], events
        assert events[0]["params"]["progressToken"] == "p-1" and events[0]["params"]["message"] == "half way"
        assert events[1]["id"] == 7 and events[1]["result"]["content"][0]["text"] == "a: done"


def test_a_thousand_abandoned_sessions_are_reaped_and_a_new_client_is_served(gateway):
    url, process, _ = gateway
    pid = plugin_pid(process.pid)
    assert anyio.run(call, url, "a_echo", {"text": "warm"}) == "a: warm"
    rss0, fds0 = usage(pid)
    with requests.Session() as http:
        for _ in range(1000):
            open_session(http, url)
    rss1, fds1 = usage(pid)
    deadline = time.time() + 30  # the idle timeout is 3 s; the reaper runs per session
    while time.time() < deadline and usage(pid)[1] > fds0 + 10:
        time.sleep(0.5)
    time.sleep(4)
    rss2, fds2 = usage(pid)
    print(f"\nRSS {rss0} -> {rss1} -> {rss2} KiB; fds {fds0} -> {fds1} -> {fds2}")
    assert fds2 <= fds0 + 10, (fds0, fds1, fds2)
    assert rss2 - rss0 < 64 * 1024, f"RSS grew from {rss0} to {rss2} KiB after the sessions were reaped"
    assert anyio.run(call, url, "b_echo", {"text": "after"}) == "b: after"
    assert requests.get(url.replace("/mcp", "/health"), timeout=5).status_code == 200


def test_a_hung_server_holds_up_no_other_server_in_the_same_session(gateway):
    url, _, (a, _) = gateway

    async def body() -> None:
        import httpx2

        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as client,
            streamable_http_client(url, http_client=client) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            async with anyio.create_task_group() as tg:
                tg.start_soon(session.call_tool, "a_hang", {})
                with anyio.fail_after(10):
                    while a.in_flight == 0:
                        await anyio.sleep(0.05)
                    started = time.monotonic()
                    result = await session.call_tool("b_echo", {"text": "meanwhile"})
                assert result.content[0].text == "b: meanwhile"
                assert time.monotonic() - started < 5
                tg.cancel_scope.cancel()

    anyio.run(body)


def test_a_call_the_client_abandons_is_cancelled_upstream(gateway):
    url, _, (a, _) = gateway

    async def abandon() -> None:
        with anyio.move_on_after(3):  # the client gives up: its request is cancelled and its connection closed
            await call(url, "a_hang", {}, timeout=60)

    for _ in range(5):
        anyio.run(abandon)
    deadline = time.time() + 15
    while time.time() < deadline and a.in_flight:
        time.sleep(0.2)
    assert a.in_flight == 0, f"{a.in_flight} abandoned calls still run on the server"
    assert a.cancelled == 5


def test_an_oversized_answer_fails_that_call_and_the_server_keeps_serving(gateway):
    url, process, _ = gateway
    pid = plugin_pid(process.pid)
    text = anyio.run(call, url, "a_big", {"size": 8 * 1024 * 1024})
    assert "more than 1048576 bytes" in text, text
    assert anyio.run(call, url, "a_big", {"size": 1000}) == "x" * 1000
    assert anyio.run(call, url, "a_echo", {"text": "still"}) == "a: still"
    assert usage(pid)[0] < 400 * 1024
    json.dumps(text)  # the error is plain text
