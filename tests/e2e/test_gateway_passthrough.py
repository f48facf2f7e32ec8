"""What passes through `docker mcp gateway run` between an MCP client and a server, beyond tools/call:
the built zipapp through the real docker CLI, spoken to by the MCP SDK's own client (`ClientSession`
with sampling, elicitation, roots, logging and progress callbacks), in front of
tests/servers/features.py, a server on the MCP SDK that uses every server-to-client feature.

Each feature is tested through two fronts, each with another backend:

- ``stdio``: `docker mcp gateway run` on stdio, the server in a container (mcp-features:test,
  ``longLived``) on a real Docker engine;
- ``sse``: `docker mcp gateway run --transport sse`, the server a ``type: remote`` catalog entry served
  over streamable HTTP on a loopback port by this process (a remote server's one upstream session
  serves every client session of the gateway).

The server on its own SSE transport (a remote catalog entry with transport_type: sse) is tested once,
behind the stdio front.

The features: sampling and elicitation go from the server to the client and the client's answer back;
roots are asked of the client, and the client's notifications/roots/list_changed reaches the server
(which asks again); progress reaches the client under its own progressToken; log messages follow the
level logging/setLevel set in the server; a call the client cancels is cancelled in the server
(which gets notifications/cancelled); a subscribed resource's updates reach the client, and stop after
unsubscribing; a tool the server adds is announced (tools/list_changed), listed and callable;
completions are routed by prompt and by resource template. A client without the sampling capability
gets the server's clean error (the gateway answers the server with an MCP error) instead of a hang.
Versions: a server that speaks only the 2026-07-28 revision (it answers initialize with -32022; the
gateway falls back to server/discover) works through the gateway, and a client that initializes with
2025-06-18 works against it.

Every wait on the network is bounded (anyio.fail_after).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from tests.e2e.conftest import DOCKER
from tests.e2e.oauth_support import free_port
from tests.e2e.test_gateway_containers import engine_user, images  # noqa: F401  (fixtures)
from tests.e2e.test_gateway_http import TOKEN, start_gateway, stop
from tests.e2e.test_gateway_remote import LoopbackApp, import_remote
from tests.helpers.mcp_images import ensure_features_image
from tests.servers.features import Features

CONNECT = 90.0  # seconds for the gateway to start, connect the server and answer initialize
CALL = 30.0  # seconds for one request through the gateway
SETTLE = 1.0  # seconds to wait for a notification that must not come
FRONTS = ("stdio", "sse")
# roots, logging, subscriptions and sampling are 2025-11-25 features, which the SDK marks as dropped at 2026-07-28
pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")


# --- the client -------------------------------------------------------------------------------------


@dataclass
class Client:
    """The SDK client's callbacks: what the server asked of the client and sent it, and the answers."""

    roots: list[str] = field(default_factory=lambda: ["file:///work/first"])
    sampled: list[types.CreateMessageRequestParams] = field(default_factory=list)
    elicited: list[types.ElicitRequestParams] = field(default_factory=list)
    roots_asked: int = 0
    logs: list[tuple[str, Any]] = field(default_factory=list)
    notifications: list[Any] = field(default_factory=list)

    async def sampling(self, ctx: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.sampled.append(params)
        asked = params.messages[0].content
        text = asked.text if isinstance(asked, types.TextContent) else "?"
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text=f"you asked: {text}"), model="test-model"
        )

    async def elicitation(self, ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.elicited.append(params)
        return types.ElicitResult(action="accept", content={"name": "Ada", "age": 36})

    async def list_roots(self, ctx: Any) -> types.ListRootsResult:
        self.roots_asked += 1
        return types.ListRootsResult(roots=[types.Root(uri=uri) for uri in self.roots])  # type: ignore[arg-type]

    async def logging(self, params: types.LoggingMessageNotificationParams) -> None:
        self.logs.append((params.level, params.data))

    async def message(self, message: Any) -> None:
        self.notifications.append(message)

    def seen(self, kind: type) -> list[Any]:
        """The notifications of one type the client got, in order."""
        return [n for n in self.notifications if isinstance(n, kind)]

    def callbacks(self, sampling: bool = True, elicitation: bool = True) -> dict[str, Any]:
        return {
            "sampling_callback": self.sampling if sampling else None,
            "elicitation_callback": self.elicitation if elicitation else None,
            "list_roots_callback": self.list_roots,
            "logging_callback": self.logging,
            "message_handler": self.message,
        }


async def call(session: ClientSession, name: str, arguments: dict[str, Any] | None = None, **kw: Any) -> str:
    """Call a tool through the gateway; returns its text, which must not be an error."""
    with anyio.fail_after(CALL):
        result = await session.call_tool(name, arguments or {}, **kw)
    assert isinstance(result, types.CallToolResult)
    text = result.content[0].text if isinstance(result.content[0], types.TextContent) else repr(result.content)
    assert not result.is_error, text
    return text


async def eventually(
    what: str, probe: Callable[[], Awaitable[Any]], ready: Callable[[Any], bool] = bool, timeout: float = CALL
) -> Any:
    """Poll `probe` until `ready` says yes to its value, and return that value; fail saying `what`, and the
    last value seen, after `timeout` seconds."""
    value = None
    try:
        with anyio.fail_after(timeout):
            while not ready(value := await probe()):
                await anyio.sleep(0.2)
            return value
    except TimeoutError:
        raise AssertionError(f"not within {timeout:g} s: {what} (last seen: {value!r})") from None


def snapshot(value: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    """A probe for `eventually` of what the client's callbacks collect: a copy of `value()`."""

    async def probe() -> Any:
        return list(value())

    return probe


async def settled() -> None:
    await anyio.sleep(SETTLE)


# --- the fronts -------------------------------------------------------------------------------------


Streams = Callable[[], contextlib.AbstractAsyncContextManager[Any]]


@dataclass
class Front:
    """The gateway in front of the features server: `streams()` opens one client connection to it."""

    name: str
    streams: Streams

    @contextlib.asynccontextmanager
    async def connect(
        self, client: Client, sampling: bool = True, elicitation: bool = True
    ) -> AsyncIterator[ClientSession]:
        async with (
            self.streams() as (read, write),
            ClientSession(read, write, **client.callbacks(sampling, elicitation)) as session,
        ):
            with anyio.fail_after(CONNECT):
                await session.initialize()
            yield session

    def run(
        self,
        body: Callable[[ClientSession], Awaitable[Any]],
        client: Client,
        sampling: bool = True,
        elicitation: bool = True,
    ) -> Any:
        async def main() -> Any:
            async with self.connect(client, sampling, elicitation) as session:
                return await body(session)

        return anyio.run(main)


@contextlib.contextmanager
def stdio_front(request: pytest.FixtureRequest, tmp_path: Any, modern_only: bool) -> Any:
    """The gateway on stdio, run by the client; the server in a long-lived container."""
    user = request.getfixturevalue("engine_user")
    image = ensure_features_image(request.getfixturevalue("docker_engine"))
    command = '    command: ["--modern-only"]\n' if modern_only else ""
    catalog = tmp_path / "features.yaml"
    catalog.write_text(
        f"name: features\nregistry:\n  features:\n    type: server\n    image: {image}\n    longLived: true\n{command}"
    )
    r = user.docker("mcp", "catalog", "import", str(catalog))
    assert r.returncode == 0, r.stderr
    params = StdioServerParameters(
        command=DOCKER, args=["mcp", "gateway", "run", "--servers", "features"], env=user.env
    )
    yield Front("stdio", lambda: stdio_client(params))


@contextlib.contextmanager
def sse_front(request: pytest.FixtureRequest, tmp_path: Any, modern_only: bool) -> Any:
    """The gateway on SSE (a process of its own); the server remote, over streamable HTTP on loopback."""
    user = request.getfixturevalue("gateway_user")
    with LoopbackApp(Features(modern_only=modern_only).app("streamable-http")) as server:
        import_remote(user, tmp_path, "features", server.url)
        port = free_port()
        gateway = start_gateway(user, "sse", port, "--servers", "features")
        url = f"http://127.0.0.1:{port}/sse"
        try:
            yield Front("sse", lambda: sse_client(url, headers={"Authorization": f"Bearer {TOKEN}"}))
        finally:
            print(stop(gateway))  # the gateway's log, shown when the test fails


@pytest.fixture(params=FRONTS)
def front(request, tmp_path):
    make = stdio_front if request.param == "stdio" else sse_front
    with make(request, tmp_path, modern_only=False) as opened:
        yield opened


@pytest.fixture(params=FRONTS)
def modern_front(request, tmp_path):
    """As `front`, with a server of the 2026-07-28 revision only."""
    make = stdio_front if request.param == "stdio" else sse_front
    with make(request, tmp_path, modern_only=True) as opened:
        yield opened


# --- server-to-client requests ------------------------------------------------------------------------


def test_sampling_reaches_the_client_and_its_answer_the_server(front):
    client = Client()

    async def body(session: ClientSession) -> None:
        assert await call(session, "sample", {"prompt": "What is 2+2?"}) == "test-model: you asked: What is 2+2?"
        [asked] = client.sampled
        assert asked.max_tokens == 64 and asked.messages[0].content.text == "What is 2+2?"

    front.run(body, client)


def test_elicitation_in_form_mode_reaches_the_client_and_its_answer_the_server(front):
    client = Client()

    async def body(session: ClientSession) -> None:
        answer = json.loads(await call(session, "ask", {"question": "Who are you?"}))
        assert answer == {"action": "accept", "content": {"name": "Ada", "age": 36}}
        [asked] = client.elicited
        assert isinstance(asked, types.ElicitRequestFormParams) and asked.message == "Who are you?"
        assert set(asked.requested_schema["properties"]) == {"name", "age"}

    front.run(body, client)


def test_roots_are_asked_of_the_client_and_its_roots_list_changed_reaches_the_server(front):
    """The server asks for the roots within a tool call; after the client's notifications/roots/
    list_changed it asks again on its own (outside any request), and gets the new roots."""
    client = Client(roots=["file:///work/first"])

    async def body(session: ClientSession) -> None:
        assert json.loads(await call(session, "roots")) == ["file:///work/first"]
        client.roots = ["file:///work/second", "file:///work/third"]
        await session.send_roots_list_changed()

        async def seen() -> Any:
            return json.loads(await call(session, "roots_seen"))

        state = await eventually(
            "the server asks for the roots again after roots/list_changed", seen, lambda s: s["roots"] is not None
        )
        assert state == {"notifications": 1, "roots": ["file:///work/second", "file:///work/third"]}
        assert client.roots_asked == 2

    front.run(body, client)


# --- notifications ------------------------------------------------------------------------------------


def test_progress_reaches_the_client_under_its_own_token(front):
    """With the SDK's progress callback (its token is the request id) and with a token the client chose:
    the gateway sends the server its own token and reports the server's progress under the client's."""
    client = Client()
    reported: list[tuple[float, float | None, str | None]] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        reported.append((value, total, message))

    async def body(session: ClientSession) -> None:
        assert await call(session, "count", {"steps": 3}, progress_callback=progress) == "counted to 3"
        await eventually("three progress reports", snapshot(lambda: reported), lambda r: len(r) == 3)
        assert reported == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]

        before = len(client.seen(types.ProgressNotification))
        assert await call(session, "count", {"steps": 2}, meta={"progressToken": "client-chosen-7"}) == "counted to 2"

        mine = snapshot(lambda: [n.params for n in client.seen(types.ProgressNotification)[before:]])
        found = await eventually("two progress notifications for the client's token", mine, lambda f: len(f) >= 2)
        assert [(p.progress_token, p.progress, p.total) for p in found] == [
            ("client-chosen-7", 1, 2),
            ("client-chosen-7", 2, 2),
        ]

    front.run(body, client)


def test_log_messages_follow_the_level_set_through_the_gateway(front):
    client = Client()

    async def body(session: ClientSession) -> None:
        everything = ["debug", "info", "notice", "warning", "error"]
        assert json.loads(await call(session, "log")) == everything
        await eventually("five log messages", snapshot(lambda: client.logs), lambda logs: len(logs) == 5)
        assert sorted(client.logs) == sorted((level, f"{level} message") for level in everything)

        client.logs.clear()
        with anyio.fail_after(CALL):
            await session.set_logging_level("warning")
        assert json.loads(await call(session, "log")) == ["warning", "error"]
        await eventually("the warning and the error", snapshot(lambda: client.logs), lambda logs: len(logs) >= 2)
        await settled()
        assert sorted(client.logs) == [("error", "error message"), ("warning", "warning message")]

    front.run(body, client)


def test_a_call_the_client_cancels_is_cancelled_in_the_server(front):
    client = Client()

    async def body(session: ClientSession) -> None:
        with anyio.move_on_after(2) as scope:  # the client gives up: the SDK sends notifications/cancelled
            await session.call_tool("slow", {"seconds": 60, "label": "abandoned"})
        assert scope.cancelled_caught

        async def cancellations() -> Any:
            return json.loads(await call(session, "cancellations"))

        state = await eventually("the server's slow call is cancelled", cancellations, lambda s: s["cancelled"])
        assert state["cancelled"] == ["abandoned"] and len(state["notices"]) == 1
        assert await call(session, "slow", {"seconds": 0.1, "label": "finished"}) == "finished"

    front.run(body, client)


def test_a_subscribed_resource_s_updates_reach_the_client_until_it_unsubscribes(front):
    client = Client()

    updates = snapshot(lambda: [str(n.params.uri) for n in client.seen(types.ResourceUpdatedNotification)])

    async def body(session: ClientSession) -> None:
        assert session.server_capabilities.resources.subscribe
        with anyio.fail_after(CALL):
            await session.subscribe_resource("features://counter")
        assert await call(session, "bump") == "1"
        assert await eventually("notifications/resources/updated", updates) == ["features://counter"]
        with anyio.fail_after(CALL):
            read = await session.read_resource("features://counter")
            await session.unsubscribe_resource("features://counter")
        assert read.contents[0].text == "1"
        assert await call(session, "bump") == "2"
        await settled()
        assert await updates() == ["features://counter"]

    front.run(body, client)


def test_a_tool_the_server_adds_is_announced_listed_and_callable(front):
    client = Client()

    async def body(session: ClientSession) -> None:
        assert session.server_capabilities.tools.list_changed
        with anyio.fail_after(CALL):
            before = {t.name for t in (await session.list_tools()).tools}
        assert "fresh" not in before
        assert await call(session, "add_tool", {"name": "fresh"}) == "added fresh"
        await eventually(
            "notifications/tools/list_changed", snapshot(lambda: client.seen(types.ToolListChangedNotification))
        )
        with anyio.fail_after(CALL):
            after = {t.name for t in (await session.list_tools()).tools}
        assert after == before | {"fresh"}
        assert await call(session, "fresh") == "fresh is new"

    front.run(body, client)


def test_completions_are_routed_by_prompt_and_by_resource_template(front):
    client = Client()

    async def body(session: ClientSession) -> None:
        assert session.server_capabilities.completions is not None
        with anyio.fail_after(CALL):
            languages = await session.complete(
                types.PromptReference(type="ref/prompt", name="greet"), {"name": "language", "value": "es"}
            )
            fruits = await session.complete(
                types.ResourceTemplateReference(type="ref/resource", uri="features://items/{item}"),
                {"name": "item", "value": "b"},
            )
        assert languages.completion.values == ["esperanto", "estonian"]
        assert fruits.completion.values == ["banana", "blueberry"]

    front.run(body, client)


# --- a client that cannot answer --------------------------------------------------------------------


def test_a_client_without_sampling_gets_the_servers_clean_error_not_a_hang(front):
    """The client declares no sampling: the server's sampling/createMessage is answered by the gateway
    with an MCP error (-32600, as the SDK answers for a client without the callback), which the server
    reports as its tool's error; the next call works."""
    client = Client()

    async def body(session: ClientSession) -> None:
        with anyio.fail_after(CALL):
            result = await session.call_tool("sample", {"prompt": "anyone?"})
        assert result.is_error
        assert result.content[0].text.startswith("sampling failed: MCP error -32600: "), result.content[0].text
        assert client.sampled == []
        assert json.loads(await call(session, "roots")) == ["file:///work/first"]

    front.run(body, client, sampling=False)


# --- protocol versions --------------------------------------------------------------------------------


def test_a_server_of_the_2026_07_28_revision_only_works_through_the_gateway(modern_front):
    """The server answers initialize with -32022: the gateway negotiates with server/discover, lists and
    calls its tools (progress included) at 2026-07-28, and the client speaks 2025-11-25 with the gateway.
    A 2026-07-28 server cannot ask the client anything: its sampling fails in the server, cleanly."""
    client = Client()
    reported: list[float] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        reported.append(value)

    async def body(session: ClientSession) -> None:
        assert session.protocol_version == "2025-11-25"
        with anyio.fail_after(CALL):
            names = {t.name for t in (await session.list_tools()).tools}
        assert {"count", "protocol", "sample"} <= names
        assert await call(session, "protocol") == "2026-07-28"
        assert await call(session, "count", {"steps": 2}, progress_callback=progress) == "counted to 2"
        await eventually("two progress reports", snapshot(lambda: reported), lambda r: len(r) == 2)
        with anyio.fail_after(CALL):
            read = await session.read_resource("features://counter")
            sampled = await session.call_tool("sample", {"prompt": "x"})
        assert read.contents[0].text == "0"
        assert sampled.is_error and sampled.content[0].text.startswith("sampling failed: "), sampled.content
        assert client.sampled == []

    modern_front.run(body, client)


def test_a_2026_07_28_server_asks_a_2025_11_25_client_through_its_input_required_result(modern_front):
    """The server's question rides an input_required result (SEP-2322), which a 2025-11-25 client cannot
    read: the gateway asks the client with elicitation/create, then sends the call again with the answer
    and the request state echoed as they came."""
    client = Client()

    async def body(session: ClientSession) -> None:
        assert session.protocol_version == "2025-11-25"
        answer = json.loads(await call(session, "ask", {"question": "Who are you?"}))
        assert answer == {
            "action": "accept",
            "content": {"name": "Ada", "age": 36},
            "state": json.dumps({"asked": "Who are you?"}),
        }
        [asked] = client.elicited
        assert isinstance(asked, types.ElicitRequestFormParams) and asked.message == "Who are you?"

    modern_front.run(body, client)


def test_a_2026_07_28_server_s_question_to_a_client_without_elicitation_is_a_clean_error(modern_front):
    """The client declared no elicitation: the gateway does not ask it, and the call fails with the
    reason instead of hanging or crashing the session, which serves the next call."""
    client = Client()

    async def body(session: ClientSession) -> None:
        with anyio.fail_after(CALL), pytest.raises(MCPError) as refused:
            await session.call_tool("ask", {"question": "Who are you?"})
        assert refused.value.error.code == types.INVALID_REQUEST
        assert "elicitation not supported" in refused.value.error.message, refused.value.error
        assert client.elicited == []
        assert await call(session, "protocol") == "2026-07-28"

    modern_front.run(body, client, elicitation=False)


def test_a_client_initializing_with_2025_06_18_works_against_a_server_preferring_2026_07_28(modern_front):
    client = Client()

    async def body(session: ClientSession) -> None:
        with anyio.fail_after(CONNECT):
            result = await session.send_request(
                types.InitializeRequest(
                    params=types.InitializeRequestParams(
                        protocol_version="2025-06-18",
                        capabilities=types.ClientCapabilities(),
                        client_info=types.Implementation(name="old-client", version="0.1"),
                    )
                ),
                types.InitializeResult,
            )
        assert result.protocol_version == "2025-06-18"
        session.adopt(result)
        await session.send_notification(types.InitializedNotification())
        with anyio.fail_after(CALL):
            names = {t.name for t in (await session.list_tools()).tools}
        assert "protocol" in names
        assert await call(session, "protocol") == "2026-07-28"
        assert await call(session, "count", {"steps": 1}) == "counted to 1"

    async def main() -> None:
        async with modern_front.streams() as (read, write), ClientSession(read, write, **client.callbacks()) as session:
            await body(session)

    anyio.run(main)


# --- a remote server on the SSE transport ---------------------------------------------------------------


def test_a_remote_server_on_sse_reaches_the_client_both_ways(gateway_user, tmp_path):
    """The server's older transport (GET /sse, POST /messages/) behind the stdio front: its requests to
    the client, progress, log messages and a cancelled call cross the gateway as over streamable HTTP."""
    client = Client()
    reported: list[float] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        reported.append(value)

    async def body(session: ClientSession) -> None:
        assert await call(session, "sample", {"prompt": "over SSE?"}) == "test-model: you asked: over SSE?"
        assert json.loads(await call(session, "ask", {"question": "Name?"}))["content"] == {"name": "Ada", "age": 36}
        assert json.loads(await call(session, "roots")) == ["file:///work/first"]
        assert await call(session, "count", {"steps": 2}, progress_callback=progress) == "counted to 2"
        assert json.loads(await call(session, "log"))[0] == "debug"
        await eventually("five log messages", snapshot(lambda: client.logs), lambda logs: len(logs) == 5)
        with anyio.move_on_after(2):
            await session.call_tool("slow", {"seconds": 60, "label": "over-sse"})

        async def cancellations() -> Any:
            return json.loads(await call(session, "cancellations"))

        await eventually("the server's slow call is cancelled", cancellations, lambda s: s["cancelled"])
        assert reported == [1, 2]

    with LoopbackApp(Features().app("sse"), path="/sse") as server:
        import_remote(gateway_user, tmp_path, "features", server.url, "  transport_type: sse\n")
        args = ["mcp", "gateway", "run", "--servers", "features"]
        params = StdioServerParameters(command=DOCKER, args=args, env=gateway_user.env)
        Front("stdio", lambda: stdio_client(params)).run(body, client)


# --- client sessions sharing a server's connection --------------------------------------------------------


def test_a_servers_request_during_one_sessions_call_never_reaches_another_sessions_client(request, tmp_path):
    """Behind the SSE front a remote server has one connection for every client session, and its
    sampling/createMessage names no client request. While session B has a call in flight, the server's
    sampling for session A's call must not go to B's client: not when A's client cannot sample, nor when
    B's call is the newer one; A's call gets its own client's answer or a clean error. Nor do A's log
    messages go to B."""
    a, b, a_sampling = Client(), Client(), Client()

    async def main() -> list[str]:
        texts = []

        async def sample(session: ClientSession, arguments: dict[str, Any]) -> None:
            with anyio.fail_after(CALL):
                texts.append((await session.call_tool("sample", arguments)).content[0].text)

        async with (
            front.connect(b) as b_session,
            front.connect(a, sampling=False) as a_session,
            front.connect(a_sampling) as a_sampling_session,
        ):
            async with anyio.create_task_group() as tg:  # B's call in flight, then A (which cannot sample) samples
                tg.start_soon(call, b_session, "slow", {"seconds": 3, "label": "b"})
                await anyio.sleep(1)
                await sample(a_session, {"prompt": "A asks"})
            async with anyio.create_task_group() as tg:  # A's call, then B's: B's is the newest when A samples
                tg.start_soon(sample, a_sampling_session, {"prompt": "A asks again", "after": 2})
                await anyio.sleep(1)
                tg.start_soon(call, b_session, "slow", {"seconds": 3, "label": "b"})
            async with anyio.create_task_group() as tg:  # the same for A's log messages
                tg.start_soon(call, a_sampling_session, "log", {"after": 2})
                await anyio.sleep(1)
                tg.start_soon(call, b_session, "slow", {"seconds": 3, "label": "b"})
            await settled()
        return texts

    with sse_front(request, tmp_path, modern_only=False) as front:
        cannot, newer = anyio.run(main)
    assert b.sampled == [], [p.messages[0].content.text for p in b.sampled]
    assert b.logs == []
    assert cannot.startswith("sampling failed: MCP error -32600: "), cannot
    own = [p.messages[0].content.text for p in a_sampling.sampled]
    assert (newer, own) == ("test-model: you asked: A asks again", ["A asks again"]) or (
        newer.startswith("sampling failed: MCP error -32600: ") and own == []
    ), (newer, own)


@contextlib.asynccontextmanager
async def plain_session(front: Front, client: Client) -> AsyncIterator[ClientSession]:
    """A client session that declares no sampling, elicitation or roots (it only takes log messages and
    notifications): behind an HTTP front it shares the remote server's one connection with its likes."""
    async with (
        front.streams() as (read, write),
        ClientSession(read, write, logging_callback=client.logging, message_handler=client.message) as session,
    ):
        with anyio.fail_after(CONNECT):
            await session.initialize()
        declared = json.loads(await call(session, "client_capabilities")) or {}
        assert not {"sampling", "elicitation", "roots"} & set(declared), declared
        yield session


def test_a_log_message_outside_any_request_on_a_shared_connection_reaches_no_other_session(request, tmp_path):
    """Behind the SSE front, sessions A and B (no sampling, elicitation or roots) share the remote server's
    connection. A's `log_later` makes the server log outside any request a second after A's call
    returned, while B's slow call is in flight: the message names no session, so it must not reach B.
    A session that set a log level has its own connection: its calls' log messages, and those its server
    sends outside a request, reach it."""
    a, b, c = Client(), Client(), Client()

    async def main() -> None:
        async with plain_session(front, b) as b_session, plain_session(front, a) as a_session:
            async with anyio.create_task_group() as tg:
                tg.start_soon(call, b_session, "slow", {"seconds": 3, "label": "b"})
                await anyio.sleep(0.5)  # B's call is in flight until 3.5 s; A's log comes at about 1.5 s
                assert await call(a_session, "log_later", {"label": "a", "after": 1}) == "later a"
            await settled()
        assert b.logs == [], b.logs

        async with plain_session(front, c) as c_session:
            with anyio.fail_after(CALL):
                await c_session.set_logging_level("info")
            assert json.loads(await call(c_session, "log")) == ["info", "notice", "warning", "error"]
            expected = [(level, f"{level} message") for level in ("info", "notice", "warning", "error")]
            await eventually("its four log messages", snapshot(lambda: c.logs), lambda logs: len(logs) >= 4)
            assert sorted(c.logs) == sorted(expected)
            assert await call(c_session, "log_later", {"label": "c", "after": 0.5}) == "later c"
            await eventually("its log message outside a request", snapshot(lambda: c.logs), lambda logs: len(logs) > 4)
            await settled()
            assert c.logs[4:] == [("info", "later c")]
        assert b.logs == [], b.logs

    with sse_front(request, tmp_path, modern_only=False) as front:
        anyio.run(main)
