"""features: an MCP server for the docker-mcp tests that uses every path between a server and its client,
so that a test can see each one cross the gateway. Built on the MCP Python SDK's lowlevel ``Server``
(mcp 2.x): the high-level ``MCPServer`` has no hook for ``logging/setLevel``, ``resources/subscribe`` or
``notifications/roots/list_changed``, and does not announce ``tools.listChanged``.

It is one file with no import from the tests, because it also runs in a container image
(tests.helpers.mcp_images.ensure_features_image copies it to /opt/features/server.py)::

    python features.py                                        # stdio (the image's entrypoint)
    python features.py --transport streamable-http --port P   # http://127.0.0.1:P/mcp
    python features.py --transport sse --port P               # http://127.0.0.1:P/sse
    python features.py --modern-only                         # answers initialize with -32022

In a test process: ``Features().app("streamable-http")`` is an ASGI app to serve on a loopback port.

What it offers (the server asks the client within the request that called the tool, as the SDK's
own helpers do, except where it says "standalone"):

==========================  ========================================================================
tool                        what it does
==========================  ========================================================================
``sample`` {prompt}         ``sampling/createMessage`` with the prompt (``after`` seconds, default 0);
                            returns "MODEL: TEXT" of the client's answer, or a tool error
                            "sampling failed: MCP error CODE: MSG"
``ask`` {question}          ``elicitation/create`` (form mode: name, a string, required; age, an
                            integer); returns the client's answer as JSON {action, content}. At
                            2026-07-28 the question is an ``input_required`` result (SEP-2322:
                            input request "who", request state JSON {asked: QUESTION}); the retry's
                            answer comes back as JSON {action, content, state: the state echoed}
``roots``                   ``roots/list``; returns the URIs as a JSON list
``roots_seen``              JSON {notifications, roots}: how many ``notifications/roots/list_changed``
                            came, and the roots the server asked for (standalone) after the last one
``count`` {steps}           a ``notifications/progress`` per step (progress i, total steps,
                            message "step i"); returns "counted to STEPS"
``log``                     (after ``after`` seconds, default 0) a ``notifications/message``
                            (logger "features", data "LEVEL message")
                            for each of debug, info, notice, warning, error at or above the level
                            ``logging/setLevel`` set (debug until then); returns the levels sent
``log_later`` {label}       returns "later LABEL" at once; ``after`` seconds later (default 1) sends
                            (standalone) a ``notifications/message`` (info, logger "features", data
                            "later LABEL") when the level allows
``slow`` {seconds, label}   sleeps; a call cancelled meanwhile is remembered by its label
``cancellations``           JSON {cancelled: labels of cancelled ``slow`` calls, notices: the
                            reasons of the ``notifications/cancelled`` received}
``bump``                    adds one to ``features://counter``; sends ``notifications/resources/
                            updated`` (standalone) when that URI is subscribed; returns the count
``add_tool`` {name}         adds tool NAME (it answers "NAME is new") and sends
                            ``notifications/tools/list_changed`` (standalone)
``protocol``                the protocol version of the request (2025-11-25 after ``initialize``,
                            2026-07-28 after ``server/discover``)
``client_capabilities``     the capabilities the client declared, as JSON
==========================  ========================================================================

Resources: ``features://counter`` (the count; subscribable) and the template
``features://items/{item}``. Prompt: ``greet`` {language}. Completions: ``greet``'s ``language``
(english, esperanto, estonian, french) and the template's ``item`` (apple, banana, blueberry, cherry),
by prefix. State is the server's, shared by its connections: a test talks to it through one client.

``--modern-only`` (``Features(modern_only=True)``) makes a server of the 2026-07-28 revision only: it
answers ``initialize`` with -32022 "unsupported protocol version" (data: supported ["2026-07-28"]), so
a client must negotiate with ``server/discover``, which the SDK serves; a 2026-07-28 server sends the
client no requests (sampling and roots fail in the server with NoBackChannelError; ``ask`` asks in its
result instead).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, get_args

import anyio
import mcp_types as types
from mcp.server.connection import allowed_log_levels
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata, SessionMessage

COUNTER = "features://counter"
ITEMS = "features://items/{item}"
LEVELS: tuple[str, ...] = get_args(types.LoggingLevel)  # debug ... emergency, least severe first
LOGGED = ("debug", "info", "notice", "warning", "error")
LANGUAGES = ("english", "esperanto", "estonian", "french")
FRUITS = ("apple", "banana", "blueberry", "cherry")
MODERN = "2026-07-28"
ASK_TIMEOUT = 60.0  # seconds the server waits for the client's answer to its own request


class FeaturesServer(Server[Any]):
    def create_initialization_options(self, notification_options: Any = None, *args: Any, **kw: Any) -> Any:
        # it sends tools/list_changed (add_tool): say so in initialize
        changed = NotificationOptions(tools_changed=True)
        return super().create_initialization_options(notification_options or changed, *args, **kw)


Handler = Callable[[Any, dict[str, Any]], Awaitable["types.CallToolResult | str"]]


def _text(text: str, error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=error)


def _schema(**properties: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {"type": kind} for name, kind in properties.items()},
        "required": list(properties),
    }


class Features:
    """The server and its state."""

    def __init__(self, name: str = "features", modern_only: bool = False) -> None:
        self.modern_only = modern_only
        self.level = "debug"  # the logging/setLevel threshold
        self.count = 0
        self.subscribed: set[str] = set()
        self.cancelled: list[str] = []
        self.cancel_notices: list[str] = []
        self.roots_notifications = 0
        self.roots_after_change: list[str] | str | None = None
        self.tools: dict[str, tuple[types.Tool, Handler]] = {}
        self.later: set[asyncio.Task[None]] = set()  # log_later's messages still to send
        self._register_tools()
        server = FeaturesServer(
            name,
            version="1.0.0",
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
            on_list_resources=self.list_resources,
            on_list_resource_templates=self.list_templates,
            on_read_resource=self.read_resource,
            on_subscribe_resource=self.subscribe,
            on_unsubscribe_resource=self.unsubscribe,
            on_list_prompts=self.list_prompts,
            on_get_prompt=self.get_prompt,
            on_completion=self.complete,
        )
        # the constructor's arguments for these two warn that 2026-07-28 drops them; they are 2025-11-25's
        server.add_request_handler("logging/setLevel", types.SetLevelRequestParams, self.set_level)
        server.add_notification_handler(
            "notifications/roots/list_changed", types.NotificationParams, self.roots_changed
        )
        server.middleware.append(self.observe)
        self.server = server

    # --- tools --------------------------------------------------------------------------------------

    def tool(self, name: str, description: str, schema: dict[str, Any] | None = None) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            tool = types.Tool(name=name, description=description, input_schema=schema or {"type": "object"})
            self.tools[name] = (tool, handler)
            return handler

        return register

    def _register_tools(self) -> None:
        sample = _schema(prompt="string")
        sample["properties"]["after"] = {"type": "number"}  # optional: seconds to wait before asking
        self.tool("sample", "Ask the client's model and return its answer.", sample)(self.sample)
        self.tool("ask", "Ask the user (form elicitation) and return the answer.", _schema(question="string"))(self.ask)
        self.tool("roots", "The client's roots.")(self.roots)
        self.tool("roots_seen", "The roots the server asked for after the client said they changed.")(self.roots_seen)
        self.tool("count", "Count to steps, reporting progress.", _schema(steps="integer"))(self.count_up)
        after = {"type": "object", "properties": {"after": {"type": "number"}}}  # seconds to wait first
        self.tool("log", "Log a message at each level from debug to error.", after)(self.log)
        later = _schema(label="string")
        later["properties"]["after"] = {"type": "number"}  # optional: seconds after the answer
        self.tool("log_later", "Answer at once; log a message outside any request later.", later)(self.log_later)
        self.tool("slow", "Sleep; remember whether the call was cancelled.", _schema(seconds="number", label="string"))(
            self.slow
        )
        self.tool("cancellations", "The slow calls cancelled, and the cancel notices received.")(self.cancellations)
        self.tool("bump", "Add one to features://counter.")(self.bump)
        self.tool("add_tool", "Add a tool and say that the tool list changed.", _schema(name="string"))(self.add_tool)
        self.tool("protocol", "The protocol version of this request.")(self.protocol)
        self.tool("client_capabilities", "The capabilities the client declared.")(self.client_capabilities)
        self.tool("request_id", "The JSON-RPC id this request came with.")(self.request_id)
        self.tool("exit", "End the server's process at once, without an answer.")(self.exit)

    async def list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[tool for tool, _ in self.tools.values()])

    async def call_tool(
        self, ctx: Any, params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        entry = self.tools.get(params.name)
        if entry is None:
            return _text(f"unknown tool: {params.name}", error=True)
        result = await entry[1](ctx, dict(params.arguments or {}))
        return _text(result) if isinstance(result, str) else result

    async def ask_client(self, ctx: Any, request: Any, result_type: Any, scoped: bool = True) -> Any:
        """Send the client a request: on the stream of the request `ctx` serves, or standalone."""
        metadata = ServerMessageMetadata(related_request_id=ctx.request_id) if scoped else None
        return await ctx.session.send_request(request, result_type, ASK_TIMEOUT, metadata)

    async def sample(self, ctx: Any, args: dict[str, Any]) -> types.CallToolResult | str:
        await anyio.sleep(float(args.get("after", 0)))
        message = types.SamplingMessage(role="user", content=types.TextContent(type="text", text=args["prompt"]))
        request = types.CreateMessageRequest(params=types.CreateMessageRequestParams(messages=[message], max_tokens=64))
        try:
            result = await self.ask_client(ctx, request, types.CreateMessageResult)
        except MCPError as e:
            return _text(f"sampling failed: MCP error {e.error.code}: {e.error.message}", error=True)
        except Exception as e:  # NoBackChannelError: a 2026-07-28 connection
            return _text(f"sampling failed: {type(e).__name__}: {e}", error=True)
        content = result.content
        return f"{result.model}: {content.text if isinstance(content, types.TextContent) else content}"

    async def ask(self, ctx: Any, args: dict[str, Any]) -> types.CallToolResult | types.InputRequiredResult | str:
        schema = {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name"],
        }
        request = types.ElicitRequest(
            params=types.ElicitRequestFormParams(message=args["question"], requested_schema=schema)
        )
        if ctx.protocol_version == MODERN:
            # no requests to the client at 2026-07-28: the question rides an input_required result and the
            # answer comes with the client's retry (SEP-2322), which echoes the request state
            raw = ctx.params or {}
            answer = (raw.get("inputResponses") or {}).get("who")
            if answer is None:
                state = json.dumps({"asked": args["question"]})
                return types.InputRequiredResult(input_requests={"who": request}, request_state=state)
            return json.dumps(
                {"action": answer.get("action"), "content": answer.get("content"), "state": raw.get("requestState")}
            )
        try:
            result = await self.ask_client(ctx, request, types.ElicitResult)
        except Exception as e:
            return _text(f"elicitation failed: {type(e).__name__}: {e}", error=True)
        return json.dumps({"action": result.action, "content": result.content})

    async def list_roots(self, ctx: Any, scoped: bool) -> list[str]:
        result = await self.ask_client(ctx, types.ListRootsRequest(), types.ListRootsResult, scoped)
        return [str(root.uri) for root in result.roots]

    async def roots(self, ctx: Any, args: dict[str, Any]) -> types.CallToolResult | str:
        try:
            return json.dumps(await self.list_roots(ctx, scoped=True))
        except Exception as e:
            return _text(f"roots/list failed: {type(e).__name__}: {e}", error=True)

    async def roots_changed(self, ctx: Any, params: Any) -> None:
        """The client's roots changed: ask for them again, outside any request (the spec's example)."""
        self.roots_notifications += 1
        try:
            self.roots_after_change = await self.list_roots(ctx, scoped=False)
        except Exception as e:
            self.roots_after_change = f"roots/list failed: {type(e).__name__}: {e}"

    async def roots_seen(self, ctx: Any, args: dict[str, Any]) -> str:
        return json.dumps({"notifications": self.roots_notifications, "roots": self.roots_after_change})

    async def count_up(self, ctx: Any, args: dict[str, Any]) -> str:
        steps = int(args["steps"])
        for step in range(1, steps + 1):
            await ctx.session.report_progress(step, steps, f"step {step}")
        return f"counted to {steps}"

    async def set_level(self, ctx: Any, params: types.SetLevelRequestParams) -> types.EmptyResult:
        self.level = params.level
        return types.EmptyResult()

    async def log(self, ctx: Any, args: dict[str, Any]) -> str:
        await anyio.sleep(float(args.get("after", 0)))
        # at 2026-07-28 the request's _meta opts in to a level instead (the SDK's rule); before, every level
        allowed = allowed_log_levels(ctx.protocol_version, ctx.meta)
        sent = [level for level in LOGGED if LEVELS.index(level) >= LEVELS.index(self.level) and level in allowed]
        for level in sent:
            params = types.LoggingMessageNotificationParams(level=level, data=f"{level} message", logger="features")
            notification = types.LoggingMessageNotification(params=params)
            await ctx.session.send_notification(notification, related_request_id=ctx.request_id)
        return json.dumps(sent)

    async def log_later(self, ctx: Any, args: dict[str, Any]) -> str:
        text = f"later {args['label']}"
        after = float(args.get("after", 1))
        session = ctx.session

        async def send() -> None:
            await anyio.sleep(after)
            if LEVELS.index("info") < LEVELS.index(self.level):
                return
            params = types.LoggingMessageNotificationParams(level="info", data=text, logger="features")
            with contextlib.suppress(Exception):  # the client gone meanwhile
                await session.send_notification(types.LoggingMessageNotification(params=params))

        # outlives the request (the server runs on asyncio: anyio.run's default backend, and uvicorn's)
        task = asyncio.get_running_loop().create_task(send())
        self.later.add(task)
        task.add_done_callback(self.later.discard)
        return text

    async def slow(self, ctx: Any, args: dict[str, Any]) -> str:
        try:
            await anyio.sleep(float(args["seconds"]))
        except anyio.get_cancelled_exc_class():
            self.cancelled.append(str(args["label"]))
            raise
        return "finished"

    async def observe(self, ctx: Any, call_next: Any) -> Any:
        """Middleware: remember each notifications/cancelled (the SDK applies it, then passes it on)."""
        if ctx.method == "notifications/cancelled" and ctx.request_id is None:
            params = ctx.params if isinstance(ctx.params, dict) else {}
            self.cancel_notices.append(str(params.get("reason", "")))
        return await call_next(ctx)

    async def request_id(self, ctx: Any, args: dict[str, Any]) -> str:
        return json.dumps(ctx.request_id)

    async def exit(self, ctx: Any, args: dict[str, Any]) -> str:
        os._exit(3)

    async def cancellations(self, ctx: Any, args: dict[str, Any]) -> str:
        return json.dumps({"cancelled": self.cancelled, "notices": self.cancel_notices})

    async def bump(self, ctx: Any, args: dict[str, Any]) -> str:
        self.count += 1
        if COUNTER in self.subscribed:
            await ctx.session.send_notification(
                types.ResourceUpdatedNotification(params=types.ResourceUpdatedNotificationParams(uri=COUNTER))
            )
        return str(self.count)

    async def add_tool(self, ctx: Any, args: dict[str, Any]) -> str:
        name = str(args["name"])

        async def answer(ctx: Any, args: dict[str, Any]) -> str:
            return f"{name} is new"

        self.tool(name, f"A tool added while the server runs: {name}.")(answer)
        await ctx.session.send_notification(types.ToolListChangedNotification())
        return f"added {name}"

    async def protocol(self, ctx: Any, args: dict[str, Any]) -> str:
        return str(ctx.protocol_version)

    async def client_capabilities(self, ctx: Any, args: dict[str, Any]) -> str:
        capabilities = ctx.session.client_capabilities
        return json.dumps(
            capabilities.model_dump(by_alias=True, mode="json", exclude_none=True) if capabilities else None
        )

    # --- resources, prompts, completions --------------------------------------------------------------

    async def list_resources(self, ctx: Any, params: Any) -> types.ListResourcesResult:
        counter = types.Resource(uri=COUNTER, name="counter", mime_type="text/plain")
        return types.ListResourcesResult(resources=[counter])

    async def list_templates(self, ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
        template = types.ResourceTemplate(uri_template=ITEMS, name="item", mime_type="text/plain")
        return types.ListResourceTemplatesResult(resource_templates=[template])

    async def read_resource(self, ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        uri = str(params.uri)
        prefix = ITEMS.split("{", 1)[0]
        if uri == COUNTER:
            text = str(self.count)
        elif uri.startswith(prefix):
            text = f"item {uri[len(prefix) :]}"
        else:
            raise MCPError(code=types.INVALID_PARAMS, message=f"unknown resource: {uri}")
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type="text/plain", text=text)]
        )

    async def subscribe(self, ctx: Any, params: types.SubscribeRequestParams) -> types.EmptyResult:
        self.subscribed.add(str(params.uri))
        return types.EmptyResult()

    async def unsubscribe(self, ctx: Any, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
        self.subscribed.discard(str(params.uri))
        return types.EmptyResult()

    async def list_prompts(self, ctx: Any, params: Any) -> types.ListPromptsResult:
        language = types.PromptArgument(name="language", description="The language to greet in", required=True)
        return types.ListPromptsResult(prompts=[types.Prompt(name="greet", arguments=[language])])

    async def get_prompt(self, ctx: Any, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        language = (params.arguments or {}).get("language", "english")
        text = types.TextContent(type="text", text=f"Say hello in {language}.")
        return types.GetPromptResult(messages=[types.PromptMessage(role="user", content=text)])

    async def complete(self, ctx: Any, params: types.CompleteRequestParams) -> types.CompleteResult:
        ref, argument = params.ref, params.argument
        if isinstance(ref, types.PromptReference) and ref.name == "greet" and argument.name == "language":
            choices: tuple[str, ...] = LANGUAGES
        elif isinstance(ref, types.ResourceTemplateReference) and ref.uri == ITEMS and argument.name == "item":
            choices = FRUITS
        else:
            choices = ()
        values = [c for c in choices if c.startswith(argument.value)]
        return types.CompleteResult(completion=types.Completion(values=values, total=len(values), has_more=False))

    # --- transports -----------------------------------------------------------------------------------

    async def serve_stdio(self) -> None:
        from mcp.server.stdio import stdio_server

        async with stdio_server() as (read, write):
            if not self.modern_only:
                await self.server.run(read, write, self.server.create_initialization_options())
                return
            async with refusing_initialize(read, write) as modern:
                await self.server.run(modern, write, self.server.create_initialization_options())

    def app(self, transport: str) -> Any:
        """The ASGI app: streamable HTTP at /mcp, or SSE at /sse (messages at /messages/)."""
        if transport == "streamable-http":
            app = self.server.streamable_http_app(streamable_http_path="/mcp", host="127.0.0.1")
            return RefuseInitialize(app) if self.modern_only else app
        from mcp.server.sse import SseServerTransport
        from starlette.applications import Starlette
        from starlette.responses import Response
        from starlette.routing import Mount, Route

        sse = SseServerTransport("/messages/")

        async def handle_sse(request: Any) -> Response:
            async with sse.connect_sse(request.scope, request.receive, request._send) as (read, write):
                await self.server.run(read, write, self.server.create_initialization_options())
            return Response()

        return Starlette(
            routes=[Route("/sse", handle_sse, methods=["GET"]), Mount("/messages/", app=sse.handle_post_message)]
        )


# --- a server of the 2026-07-28 revision only ------------------------------------------------------


def unsupported_version(request_id: Any, params: Any) -> types.JSONRPCError:
    """The -32022 answer to `initialize` (MCP spec 2026-07-28, basic/lifecycle)."""
    requested = params.get("protocolVersion") if isinstance(params, dict) else None
    data = {"supported": [MODERN], "requested": requested if isinstance(requested, str) else ""}
    error = types.ErrorData(code=types.UNSUPPORTED_PROTOCOL_VERSION, message="Unsupported protocol version", data=data)
    return types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error)


@contextlib.asynccontextmanager
async def refusing_initialize(read: Any, write: Any) -> AsyncIterator[Any]:
    """The messages of `read` but `initialize`, which is answered on `write` with -32022."""
    send, receive = anyio.create_memory_object_stream[Any](0)

    async def pump() -> None:
        async with send:
            async for item in read:
                message = item.message if isinstance(item, SessionMessage) else None
                if isinstance(message, types.JSONRPCRequest) and message.method == "initialize":
                    await write.send(SessionMessage(unsupported_version(message.id, message.params)))
                else:
                    await send.send(item)

    async with anyio.create_task_group() as tg:
        tg.start_soon(pump)
        yield receive
        tg.cancel_scope.cancel()


class RefuseInitialize:
    """ASGI middleware: a POST whose body is an `initialize` request gets HTTP 400 with the -32022 error
    (the status the SDK's modern entry gives that code); everything else goes to the SDK's app, which
    serves 2026-07-28 requests (MCP-Protocol-Version: 2026-07-28) on its modern entry."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        received: list[Any] = []
        body = b""
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        if isinstance(request, dict) and request.get("method") == "initialize":
            answer = unsupported_version(request.get("id"), request.get("params"))
            payload = json.dumps(answer.model_dump(by_alias=True, mode="json", exclude_none=True)).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
            await send({"type": "http.response.start", "status": 400, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
            return

        async def replay() -> Any:
            return received.pop(0) if received else await receive()

        await self.app(scope, replay, send)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="An MCP server that uses every server-to-client feature.")
    parser.add_argument("--transport", choices=("stdio", "streamable-http", "sse"), default="stdio")
    parser.add_argument("--port", type=int, default=8000, help="the loopback port of the HTTP transports")
    parser.add_argument("--modern-only", action="store_true", help="speak only the 2026-07-28 revision")
    args = parser.parse_args(argv)
    features = Features(modern_only=args.modern_only)
    if args.transport == "stdio":
        anyio.run(features.serve_stdio)
        return
    import uvicorn

    uvicorn.run(features.app(args.transport), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
