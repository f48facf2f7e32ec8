"""The gateway's lane for tool calls: a client's `tools/call` goes from the front's transport straight
to the transport of the container server that owns the tool, and the server's answer straight back, as
JSON-RPC messages (the SDK's `SessionMessage`s and `mcp_types` models) with the request id remapped;
the SDK's server runner and client session never see it.

A router of messages is what a gateway is (issue 13): the SDK's sessions on both sides cost a call
more than the transports themselves (`scripts/bench gateway`, cases (2) and (2f)). Only the plainest
call takes the lane; the `Router` (router.py) does everything else. A call takes the lane when:
- its client session (stdio, or a streamable HTTP session) has finished the `initialize` handshake at
  a handshake-era version (2025-11-25 and older: no per-request `_meta` envelope, no `input_required`
  results), and has already made a call through the router, which tells the lane the session's SDK
  `Connection` (the `LANE` context variable, set on every message the lane passes on: the SDK runs a
  message's handler in the context its transport sent it in);
- the tool is routed to a long-lived container server connected at a handshake-era version: on stdio
  the one connection whose `home` is this client, on HTTP this session's own copy, already started,
  for a session whose client declared no sampling, elicitation or roots (the server's requests would
  have no stream of this call to ride);
- the request asks for no progress (`_meta.progressToken`: the router maps the token) and its params
  have the shape of `CallToolRequestParams` (else the router's check answers -32602).

What the server sends while the call runs is handled as for any call: its requests (sampling,
elicitation, roots) go to the client or are refused (`Peer.request`), its log messages ride the call's
own stream (`Peer.notify` -> `Lane.notify`: related to the client's request id, which the streamable
HTTP transport routes to the call's POST). A client's `notifications/cancelled` for a call in the lane
is passed on under the server-side id; the call then gets no answer (MCP spec
basic/utilities/cancellation). A server connection that ends answers each of its calls in the lane
with an error result, as the router does (`Router._failed`).

Source: JSON-RPC 2.0 (ids are the sender's to choose), MCP spec 2025-11-25 basic/index,
basic/transports and server/tools."""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import mcp_types as types
from mcp.shared.message import ServerMessageMetadata, SessionMessage
from mcp_types import JSONRPCError, JSONRPCNotification, JSONRPCRequest, JSONRPCResponse
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from .backends import _takes_requests

log = logging.getLogger("docker_mcp.gateway")
calls = logging.getLogger("docker_mcp.gateway.calls")

FIRST_LANE_ID = 1 << 40  # the lane's request ids, above any the SDK's client session counts to (from 1)
_RESERVED_META = "io.modelcontextprotocol/"  # the protocol's own _meta keys: the client's, not passed on
# the lane of the front connection whose message is being handled (set by FrontReader, read by the Router)
LANE: contextvars.ContextVar[Lane] = contextvars.ContextVar("docker_mcp_lane")
NOTIFICATIONS_WAIT = 1.0  # seconds an answer waits for the server's notifications before it to be passed on


class Wire:
    """A container server's transport streams as the gateway's client session uses them: `write`, the
    stream to the server, and an async iterator over the stream from it (what the SDK's dispatcher
    reads), from which the answers to the lane's requests are taken first. `waiting`: lane request id
    -> its `LaneCall`. When the stream ends or is closed, every call still waiting is failed; when the
    server ends it, `on_end` is called (the backend then reconnects at its next call)."""

    def __init__(self, read: Any, write: Any) -> None:
        self._read = read
        self.write = write
        self.waiting: dict[int, LaneCall] = {}
        self.passed = 0  # the server's notifications and requests passed to the session so far
        self.on_end: Callable[[], None] | None = None  # called when the server closes its end

    @property
    def last_context(self) -> Any:
        """The sender's contextvars of the last item (the SDK's context streams carry them)."""
        return getattr(self._read, "last_context", None)

    def __aiter__(self) -> Wire:
        return self

    async def __anext__(self) -> Any:
        while True:
            try:
                item = await self._read.__anext__()
            except StopAsyncIteration:  # the server closed its end (its process ended)
                self.fail_all()
                if self.on_end is not None:
                    self.on_end()
                raise
            except BaseException:
                self.fail_all()
                raise
            if self.waiting and isinstance(item, SessionMessage):
                message = item.message
                if isinstance(message, JSONRPCResponse | JSONRPCError):
                    call = self.waiting.pop(message.id, None)  # type: ignore[arg-type]
                    if call is not None:
                        await call.answer(message)
                        continue
                else:
                    self.passed += 1
            return item

    async def receive(self) -> Any:
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            raise anyio.EndOfStream from None

    def fail_all(self) -> None:
        waiting, self.waiting = list(self.waiting.values()), {}
        for call in waiting:
            call.fail()

    def close(self) -> None:
        self.fail_all()
        self._read.close()

    async def aclose(self) -> None:
        self.fail_all()
        await self._read.aclose()

    async def __aenter__(self) -> Wire:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class LaneCall:
    """One client `tools/call` in the lane: the client's request id, the lane's id for it on `wire`,
    the backend and the tool's name as the client knows it."""

    __slots__ = ("backend", "done", "front_id", "lane", "lane_id", "name", "passed", "started", "wire")

    def __init__(self, lane: Lane, front_id: Any, lane_id: int, backend: Any, name: str, wire: Wire) -> None:
        self.lane, self.front_id, self.lane_id, self.backend, self.name, self.wire = (
            lane,
            front_id,
            lane_id,
            backend,
            name,
            wire,
        )
        self.started = time.monotonic()
        self.done = False
        self.passed = wire.passed  # what the server had sent besides answers when the call began
        backend.peer.lane_inflight.append(self)

    def _finish(self) -> bool:
        """Mark the call over; False when it already was."""
        if self.done:
            return False
        self.done = True
        inflight = self.backend.peer.lane_inflight
        if self in inflight:
            inflight.remove(self)
        if self.lane.calls.get(self.front_id) is self:
            del self.lane.calls[self.front_id]
        return True

    async def answer(self, message: JSONRPCResponse | JSONRPCError) -> None:
        """Pass the server's result or error to the client under the client's id, once the server's
        notifications received before it (its log messages) have been passed on."""
        if not self._finish():
            return
        if isinstance(message, JSONRPCResponse):
            out: JSONRPCResponse | JSONRPCError = JSONRPCResponse(
                jsonrpc="2.0", id=self.front_id, result=message.result
            )
            failed = bool(message.result.get("isError"))
        else:
            out, failed = JSONRPCError(jsonrpc="2.0", id=self.front_id, error=message.error), True
        quiet = self.wire.passed == self.passed
        if not quiet:  # the server sent something meanwhile: let it go first
            peer = self.backend.peer
            await anyio.lowlevel.checkpoint()  # the notification tasks the dispatcher started before this
            if peer.pending:
                with anyio.move_on_after(NOTIFICATIONS_WAIT):
                    while peer.pending:
                        await anyio.sleep(0.001)
        self.lane.said_done(self, failed)
        deliver = self.lane.deliver
        if not quiet or deliver is None or not await deliver(out):
            await self.lane.send(out)

    def fail(self) -> None:
        """The server's connection ended before it answered: an error result, as the router gives."""
        if not self._finish():
            return
        from mcp.shared.exceptions import MCPError

        from .aggregate import error_result

        reason = self.backend.explain(MCPError(code=types.CONNECTION_CLOSED, message="Connection closed"))
        log.warning("%s: tool %s failed: %s", self.backend.name, self.name, reason)
        prefix = f"{self.backend.name}: "
        result = error_result(reason if reason.startswith(prefix) else prefix + reason)
        self.lane.said_done(self, True)
        raw = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        with contextlib.suppress(RuntimeError):  # the client's connection is over: nobody to tell
            self.lane.tg.start_soon(self.lane.send, JSONRPCResponse(jsonrpc="2.0", id=self.front_id, result=raw))


class Lane:
    """The lane of one front connection (the stdio client, or one streamable HTTP session): `live`
    (run.Live: the aggregate's routes), `sessions` (the HTTP front's SessionBackends; None on stdio),
    `write` (the front transport's stream to the client), `tg` (a task group living as long as the
    connection), `log_calls` (--log-calls: the router's two lines per call). `connection`: the
    client session's SDK Connection, once the router has seen it. `calls`: client request id -> its
    LaneCall."""

    def __init__(self, live: Any, sessions: Any, write: Any, tg: Any, log_calls: bool) -> None:
        self.live, self.sessions, self.write, self.tg, self.log_calls = live, sessions, write, tg, log_calls
        self.connection: Any = None
        # the transport's own way to a waiting request (streamable.py): an answer with nothing before it
        self.deliver: Callable[[JSONRPCResponse | JSONRPCError], Awaitable[bool]] | None = None
        self.calls: dict[Any, LaneCall] = {}
        self._ids = itertools.count(FIRST_LANE_ID)

    def reader(self, read: Any) -> FrontReader:
        """The front transport's stream from the client, with the lane's calls taken out."""
        return FrontReader(self, read)

    async def take(self, request: JSONRPCRequest) -> bool:
        """Send a client's tools/call on through the lane; False (nothing done) when it does not
        qualify (see the module's docstring)."""
        params = request.params
        if type(params) is not dict:
            return False
        name = params.get("name")
        route = self.live.aggregator.routes.get(name) if type(name) is str else None
        if route is None:
            return False
        connection = self.connection
        if (
            connection is None
            or not connection.initialize_accepted
            or connection.protocol_version in MODERN_PROTOCOL_VERSIONS
        ):
            return False
        if self.sessions is None:
            backend = route.backend
            if backend.peer.home is not connection:
                return False
        else:
            backend = self.sessions.started(route.backend, connection)
            if backend is None or _takes_requests(connection):
                return False
        wire = backend.wire
        if wire is None or backend.modern:
            return False
        if set(params) - {"name", "arguments", "_meta"}:
            return False  # a field of a newer revision: the router's check decides
        arguments = params.get("arguments")
        if arguments is not None and type(arguments) is not dict:
            return False
        out = dict(params)
        out["name"] = route.original
        meta = params.get("_meta")
        if meta is not None:
            if type(meta) is not dict or "progressToken" in meta:
                return False
            kept = {k: v for k, v in meta.items() if not k.startswith(_RESERVED_META)}
            if kept:
                out["_meta"] = kept
            else:
                del out["_meta"]
        call = LaneCall(self, request.id, next(self._ids), backend, str(name), wire)
        wire.waiting[call.lane_id] = call
        self.calls[request.id] = call
        if self.log_calls:
            from .router import _shape

            calls.info("  - Calling tool %s with arguments: %s", name, _shape(arguments))
        try:
            await wire.write.send(
                SessionMessage(JSONRPCRequest(jsonrpc="2.0", id=call.lane_id, method="tools/call", params=out))
            )
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            wire.waiting.pop(call.lane_id, None)
            call.fail()
        return True

    async def cancel(self, params: Any) -> bool:
        """A client's notifications/cancelled: when it names a call in the lane, pass it on under the
        lane's id and forget the call (True); else False (the router's)."""
        request_id = params.get("requestId") if isinstance(params, dict) else None
        call = self.calls.get(request_id) if isinstance(request_id, str | int) else None
        if call is None or not call._finish():
            return False
        call.wire.waiting.pop(call.lane_id, None)
        self.said_done(call, True, " (cancelled)")
        out = {k: v for k, v in params.items() if k != "requestId"}
        out["requestId"] = call.lane_id
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):  # the server is gone
            await call.wire.write.send(
                SessionMessage(JSONRPCNotification(jsonrpc="2.0", method="notifications/cancelled", params=out))
            )
        return True

    async def notify(self, call: LaneCall, method: str, params: Any) -> None:
        """Pass a server's notification sent while `call` runs to the client, on the call's stream."""
        await self.write.send(
            SessionMessage(
                JSONRPCNotification(jsonrpc="2.0", method=method, params=params),
                metadata=ServerMessageMetadata(related_request_id=call.front_id),
            )
        )

    def said_done(self, call: LaneCall, failed: bool, how: str = "") -> None:
        if self.log_calls:
            from .router import _duration

            took = time.monotonic() - call.started
            calls.info(
                "  > Calling tool %s took: %s%s", call.name, _duration(took), how or (" (error)" if failed else "")
            )

    async def send(self, message: JSONRPCResponse | JSONRPCError) -> None:
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):  # the client is gone
            await self.write.send(SessionMessage(message))


class FrontReader:
    """The front transport's stream from the client as the SDK's server reads it, with the lane's
    `tools/call` requests, and the cancellations of calls in the lane, taken out."""

    def __init__(self, lane: Lane, read: Any) -> None:
        self._lane = lane
        self._read = read

    @property
    def last_context(self) -> contextvars.Context:
        """The context the transport sent the last message in (a copy of it when it says none), with
        `LANE` set: the router's handler of the message runs in it."""
        context = getattr(self._read, "last_context", None) or contextvars.copy_context()
        context.run(LANE.set, self._lane)
        return context

    def __aiter__(self) -> FrontReader:
        return self

    async def __anext__(self) -> Any:
        lane = self._lane
        while True:
            item = await self._read.__anext__()
            if isinstance(item, SessionMessage):
                message = item.message
                if isinstance(message, JSONRPCRequest):
                    if message.method == "tools/call" and await lane.take(message):
                        continue
                elif (
                    isinstance(message, JSONRPCNotification)
                    and message.method == "notifications/cancelled"
                    and lane.calls
                    and await lane.cancel(message.params)
                ):
                    continue
            return item

    async def receive(self) -> Any:
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            raise anyio.EndOfStream from None

    def close(self) -> None:
        self._read.close()

    async def aclose(self) -> None:
        await self._read.aclose()

    async def __aenter__(self) -> FrontReader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
