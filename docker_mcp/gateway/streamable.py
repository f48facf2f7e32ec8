"""The streamable HTTP front's transport: the MCP SDK's own (`mcp.server.streamable_http`), with one
change for 2025-era sessions. The SDK answers each of their request POSTs with an SSE stream opened at
once (its headers sent before the server has done anything), so that the server's progress, log
messages and requests can reach the client while the request runs. Most requests have none of those:
their stream carries the one result. Here the answer waits for the first message: when it is the
request's result or error, the POST is answered `application/json` with it; when it is a notification
or a request of the server, or nothing came within SSE_COMMIT_AFTER seconds, the answer commits to
`text/event-stream` and that message is its first event. Both answers are the spec's (MCP spec
2025-11-25, basic/transports, "Sending Messages to the Server": the server MUST either return
`Content-Type: text/event-stream` or `application/json`), and the SDK's 2026-07-28 path answers this way
already (`mcp.server._streamable_http_modern`). A JSON answer costs the client and the gateway less
than a stream (`scripts/bench gateway`).

Importing this module imports the SDK: the front imports it when it starts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from functools import partial
from http import HTTPStatus
from typing import Any

import anyio
import pydantic_core
from mcp.server.streamable_http import (
    CONTENT_TYPE_SSE,
    MCP_SESSION_ID_HEADER,
    REQUEST_CANCELLED,
    REQUEST_STREAM_BUFFER_SIZE,
    EventMessage,
    StreamableHTTPServerTransport,
    check_accept_headers,
)
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types import (
    DEFAULT_NEGOTIATED_VERSION,
    INTERNAL_ERROR,
    JSONRPCError,
    JSONRPCRequest,
    JSONRPCResponse,
    jsonrpc_message_adapter,
)
from pydantic import ValidationError
from sse_starlette import EventSourceResponse

# seconds a request may run silent before its answer commits to a stream (the SDK's 2026-07-28 window)
SSE_COMMIT_AFTER = 15.0
UNWATCHED = 1.0  # seconds a request's answer waits before the client's disconnect is watched too


class DeferringTransport(StreamableHTTPServerTransport):
    """StreamableHTTPServerTransport whose request POSTs are answered `application/json` when the
    result is the first message for the request, else as the SDK's SSE stream (module docstring).
    Everything else — initialize, notifications, responses, GET, DELETE, every error answer, and any
    transport with an event store (resumable streams) — is the SDK's own path."""

    new_lane: Any = None  # the front server's Lane maker (router.front_server): the session's plain tool calls
    _lane: Any = None  # this session's Lane, once connect() made it

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[tuple[Any, Any]]:
        """The SDK's session streams, the one from the client with the session's lane (lane.py) in it."""
        async with super().connect() as (read_stream, write_stream):
            if self.new_lane is None:
                yield read_stream, write_stream
                return
            async with anyio.create_task_group() as tg:
                self._lane = lane = self.new_lane(write_stream, tg)
                lane.deliver = self._deliver
                yield lane.reader(read_stream), write_stream
                tg.cancel_scope.cancel()

    async def _deliver(self, message: JSONRPCResponse | JSONRPCError) -> bool:
        """Put a call's answer straight on its POST's stream (what the SDK's message router would do a
        task switch later); False when no POST waits for it."""
        streams = self._request_streams.get(str(message.id))
        if streams is None:
            return False
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):  # the client left
            await streams[0].send(EventMessage(message))
        return True

    async def _handle_post_request(self, scope: Any, request: Any, receive: Any, send: Any) -> None:
        message = await self._plain_request(request)
        if message is None:
            await super()._handle_post_request(scope, request, receive, send)
            return
        writer = self._read_stream_writer
        assert writer is not None  # connect() ran: the manager serves a session's requests inside it
        request_id = str(message.id)
        version = request.headers.get(MCP_PROTOCOL_VERSION_HEADER, DEFAULT_NEGOTIATED_VERSION)
        self._request_streams[request_id] = anyio.create_memory_object_stream[EventMessage](REQUEST_STREAM_BUFFER_SIZE)
        reader = self._request_streams[request_id][1]
        lane = self._lane
        taken = False  # by the lane: the request is not the session server's to cancel
        try:
            # a plain tool call goes to its server from here (lane.py); the rest to the session's server
            taken = message.method == "tools/call" and lane is not None and await lane.take(message)
            if not taken:
                await writer.send(self._create_session_message(message, request, request_id, version))
            first, gone = await self._first(reader, receive)
        except (anyio.EndOfStream, anyio.ClosedResourceError):  # the session ended with the request in flight
            await self._clean_up_memory_streams(request_id)
            response = self._create_error_response(
                "Session terminated before the request completed", HTTPStatus.INTERNAL_SERVER_ERROR, INTERNAL_ERROR
            )
            await response(scope, receive, send)
            return
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._clean_up_memory_streams(request_id)
                if taken:
                    await lane.cancel({"requestId": message.id, "reason": "the gateway stopped serving the request"})
            raise
        if gone:  # as the SDK's stream ends when its client leaves: the session's idle countdown may start
            await self._clean_up_memory_streams(request_id)
            if taken:  # a call its client abandoned is cancelled on the server, as the router's are
                await lane.cancel({"requestId": message.id, "reason": "the client closed its connection"})
            return
        if first is not None and _final(first.message):
            await self._clean_up_memory_streams(request_id)
            await self._create_json_response(first.message)(scope, receive, send)
            return
        await self._stream(request_id, reader, first, scope, receive, send)

    @staticmethod
    async def _first(reader: Any, receive: Any) -> tuple[EventMessage | None, bool]:
        """(the request's first message, or None after SSE_COMMIT_AFTER seconds; whether the client
        disconnected first). The client's disconnect is watched only once UNWATCHED seconds have gone
        by: most requests are answered sooner, and the watch is a task of its own. Raises
        anyio.EndOfStream when the session ends first."""
        with anyio.move_on_after(UNWATCHED):
            return await reader.receive(), False
        first: list[EventMessage] = []
        gone = False

        async def disconnect() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            tg.cancel_scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(disconnect)
            with anyio.move_on_after(SSE_COMMIT_AFTER - UNWATCHED):
                first.append(await reader.receive())
            tg.cancel_scope.cancel()
        return (first[0] if first else None), gone

    async def _plain_request(self, request: Any) -> JSONRPCRequest | None:
        """The POST's request when the SDK would answer it with a stream and nothing can fail before
        that: a session's valid request other than initialize, sent with the headers the SDK requires.
        None otherwise (the SDK's path then answers it, errors included)."""
        if self._event_store is not None or self.mcp_session_id is None or self.is_json_response_enabled:
            return None
        if request.headers.get(MCP_SESSION_ID_HEADER) != self.mcp_session_id:
            return None
        if not self._check_content_type(request) or not all(check_accept_headers(request)):
            return None
        try:
            message = jsonrpc_message_adapter.validate_python(
                pydantic_core.from_json(await request.body()), by_name=False
            )
        except (ValueError, ValidationError):
            return None
        if not isinstance(message, JSONRPCRequest) or message.method == "initialize":
            return None
        return message

    async def _stream(
        self, request_id: str, reader: Any, first: EventMessage | None, scope: Any, receive: Any, send: Any
    ) -> None:
        """Answer as the SDK's SSE branch does, `first` (when a message came) the stream's first event."""
        sse_writer, sse_reader = anyio.create_memory_object_stream[Any](0)
        self._sse_stream_writers[request_id] = sse_writer
        headers = {
            "Cache-Control": "no-cache, no-transform",
            "Connection": "keep-alive",
            "Content-Type": CONTENT_TYPE_SSE,
            MCP_SESSION_ID_HEADER: self.mcp_session_id or "",
        }
        opening = self._create_event_data(first) if first is not None else None
        response = EventSourceResponse(
            content=sse_reader,
            data_sender_callable=partial(self._run_sse_writer, request_id, sse_writer, reader, opening),
            headers=headers,
        )
        try:
            await response(scope, receive, send)
        finally:
            await sse_reader.aclose()


def _final(message: Any) -> bool:
    """Whether a message answers its request as JSON: a result or an error, but the -32800 "Request
    cancelled" the SDK sends for a request its client cancelled. That one keeps the SDK's stream: the
    client has usually closed its session by then, and the SDK client's JSON path (mcp 2.3,
    `StreamableHTTPTransport._handle_json_response`) raises BrokenResourceError out of its session
    where its SSE path lets the late answer go."""
    if isinstance(message, JSONRPCResponse):
        return True
    return isinstance(message, JSONRPCError) and message.error.code != REQUEST_CANCELLED


class DeferringSessionManager(StreamableHTTPSessionManager):
    """StreamableHTTPSessionManager whose sessions' transports are DeferringTransport."""

    def _admit_session(self, requestor: Any) -> Any:
        # the SDK builds the session's transport here; DeferringTransport adds no state of its own, so
        # the new transport takes its class
        transport = super()._admit_session(requestor)
        if transport is not None:
            transport.__class__ = DeferringTransport
            transport.new_lane = getattr(self.app, "new_lane", None)  # type: ignore[attr-defined]
        return transport


def streamable_app(
    server: Any, path: str, security: Any, idle_timeout: float, max_sessions: int, stateless: bool = False
) -> Any:
    """The Starlette app serving `server` (an SDK lowlevel Server) over streamable HTTP at `path`: the
    SDK's `Server.streamable_http_app` (no auth, no event store) with DeferringSessionManager.
    `stateless`: the SDK's stateless mode (a transport per request, no session id, no GET stream; a
    server's request to the client cannot be answered there), in which the idle timeout and the
    session cap do not apply."""
    manager = DeferringSessionManager(
        app=server,
        json_response=False,
        stateless=stateless,
        security_settings=security,
        session_idle_timeout=None if stateless else idle_timeout,
        max_sessions=None if stateless else max_sessions,
    )
    return StreamableRoute(manager, path)


class StreamableRoute:
    """The ASGI app of the streamable HTTP front: requests to `path` go to the SDK's session manager
    (`StreamableHTTPASGIApp`), any other path is 404, and the ASGI lifespan runs the manager. It is
    what `Starlette(routes=[Route(path, StreamableHTTPASGIApp(manager))], lifespan=…)` does, without
    the routing and error layers Starlette puts around every request (each of which wraps every
    `send`: `scripts/bench gateway` case (3)); an exception still reaches uvicorn, which answers 500."""

    def __init__(self, manager: StreamableHTTPSessionManager, path: str) -> None:
        self.endpoint = StreamableHTTPASGIApp(manager)
        self.manager, self.path = manager, path

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if scope["path"] == self.path:
                await self.endpoint(scope, receive, send)
                return
            await _not_found(send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        """The ASGI lifespan protocol: the manager runs from startup to shutdown."""
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        try:
            async with self.manager.run():
                await send({"type": "lifespan.startup.complete"})
                while (await receive())["type"] != "lifespan.shutdown":
                    pass
        except Exception as e:
            await send({"type": "lifespan.shutdown.failed", "message": str(e)})
            raise
        await send({"type": "lifespan.shutdown.complete"})


async def _not_found(send: Any) -> None:
    body = b"Not Found"
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})
