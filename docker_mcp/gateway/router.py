"""The gateway's heart: an MCP message router between the clients (the front: the SDK's stdio, SSE and
streamable HTTP server transports, every protocol version the SDK negotiates) and the servers (the
backends: the SDK's client sessions).

Only the list methods are answered by the gateway itself (`tools/list`, `prompts/list`,
`resources/list`, `resources/templates/list`: the aggregate of every server's). A request that names
something (a tool, a prompt, a resource URI or template, a completion `ref`) goes to the server that
owns it and its result or error comes back untouched; `logging/setLevel` goes to every server that
logs. In the other direction, what a server sends while it serves a client's request (progress under
the client's own token, log messages, `sampling/createMessage`, `elicitation/create`, `roots/list`)
goes back to that client request; notifications outside a request (`resources/updated`, log
messages) go to the client session the server's connection belongs to. A server's `list_changed`
makes the gateway list that server again and tell every client.

Source: MCP spec 2025-11-25 and 2026-07-28 (basic/lifecycle, basic/utilities/progress and
cancellation, server/*, client/sampling, client/elicitation, client/roots); the Go gateway forwards
progress, logging, elicitation and roots the same way (go-plugin-gateway.md).
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from .aggregate import error_result, shared
from .lane import LANE, Lane

log = logging.getLogger("docker_mcp.gateway")
calls = logging.getLogger("docker_mcp.gateway.calls")

SET_LEVEL_TIMEOUT = 10.0  # seconds a server has to answer logging/setLevel
# what a server may ask of the client, and the client capability each needs (MCP spec client/*)
# results that carry cache hints at 2026-07-28 (mcp_types.methods.CACHEABLE_METHODS)
_CACHEABLE = ("tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read")
MAX_PENDING_NOTIFICATIONS = 1000  # per server connection; beyond, its notifications are dropped
LOG_LEVEL_STATE = "docker_mcp.log_level"  # a client session's logging/setLevel, in its Connection.state
_CLIENT_FEATURES = {"sampling/createMessage": "sampling", "elicitation/create": "elicitation", "roots/list": "roots"}
# failures of the gateway's own connection to a server (the SDK's codes), not answers of the server
_LOCAL_FAILURES = (types.CONNECTION_CLOSED, types.REQUEST_TIMEOUT)
# what the SDK's streamable HTTP client makes of an HTTP error status without a JSON-RPC error body
_HTTP_STAND_INS = ("Server returned an error response", "Session terminated")


def _local(e: MCPError) -> bool:
    """Whether an MCPError is the gateway's connection failing rather than the server answering."""
    return e.code in _LOCAL_FAILURES or e.message in _HTTP_STAND_INS


def full_client_capabilities() -> types.ClientCapabilities:
    """What the gateway tells a server it can forward when no client is known yet (stdio: the servers
    are connected before the client says what it has); a request the client cannot take gets an error."""
    return types.ClientCapabilities(
        sampling=types.SamplingCapability(),
        elicitation=types.ElicitationCapability(
            form=types.FormElicitationCapability(), url=types.UrlElicitationCapability()
        ),
        roots=types.RootsCapability(list_changed=True),
    )


class Peer:
    """Where one backend connection's server-to-client messages go.

    `home`: the front `Connection` (SDK) the backend connection belongs to (an HTTP client session's own
    copy of a server; the one client of a stdio gateway), None while unknown. `inflight`: the front
    request contexts (`ServerRequestContext`) forwarded over this connection and not yet answered,
    oldest first; a server's request goes to the newest whose client can take it. `advertise`: the
    client capabilities to announce when `home` is unknown (None: announce none, as `docker mcp tools`
    does, having no client to forward to). `discover_first`: the connection serves `docker mcp tools`
    itself, not a client, so it negotiates as the SDK's auto mode does (`server/discover` first; see
    backends.handshake).
    """

    def __init__(
        self,
        name: str,
        home: Any = None,
        advertise: types.ClientCapabilities | None = None,
        discover_first: bool = False,
    ) -> None:
        self.name = name
        self.home = home
        self.advertise = advertise
        self.discover_first = discover_first
        self.inflight: list[Any] = []
        self.on_list_changed: Callable[[str, str], Awaitable[None]] | None = None
        self.pending = 0  # notifications being passed on now (a slow client holds them)
        self.lane_inflight: list[Any] = []  # the calls in flight that took the lane (lane.LaneCall), oldest first
        self.dropped = 0
        # resource URI -> the client sessions (SDK Connections) subscribed to it through this connection
        self.subscribers: dict[str, weakref.WeakSet[Any]] = {}

    def enter(self, ctx: Any) -> Any:
        if ctx is not None:
            self.inflight.append(ctx)
        return ctx

    def subscribe(self, uri: str, connection: Any, on: bool) -> None:
        """Remember (or forget) that a client session subscribed to `uri` (resources/subscribe)."""
        if connection is None:
            return
        if on:
            self.subscribers.setdefault(uri, weakref.WeakSet()).add(connection)
        elif uri in self.subscribers:
            self.subscribers[uri].discard(connection)
            if not self.subscribers[uri]:
                del self.subscribers[uri]

    def shared_by_several(self) -> bool:
        """Whether calls of several client sessions are in flight on a connection they share (no `home`):
        a server's request or notification names none of them (2025-11-25 has no such field, and the SDK's
        client transport does not say on which call's stream it came)."""
        return self.home is None and len({id(_connection(ctx)) for ctx in self.inflight}) > 1

    def leave(self, ctx: Any) -> None:
        for i, other in enumerate(self.inflight):
            if other is ctx:
                del self.inflight[i]
                return

    def client_capabilities(self) -> types.ClientCapabilities:
        """The capabilities to declare to the server: those of the client it serves (sampling,
        elicitation with its modes, roots), which the gateway forwards as they are."""
        client = getattr(self.home, "client_capabilities", None) if self.home is not None else None
        if client is None:
            return self.advertise if self.advertise is not None and self.home is None else types.ClientCapabilities()
        return types.ClientCapabilities(sampling=client.sampling, elicitation=client.elicitation, roots=client.roots)

    async def request(self, method: str, params: Any) -> dict[str, Any]:
        """Pass a server's request to the client request in flight that can take it (the newest), or
        for `roots/list` to the session's client; returns the client's raw result. Raises MCPError:
        the client's own error, or INVALID_REQUEST when no client can answer (none in flight, or it
        lacks the capability; or, on a connection client sessions share, calls of several are in
        flight), as the SDK answers for a client without the callback."""
        feature = _CLIENT_FEATURES.get(method)
        if feature is None:
            raise MCPError(code=types.METHOD_NOT_FOUND, message="Method not found", data=method)
        if self.shared_by_several():  # another session's client must never get it
            raise MCPError(
                code=types.INVALID_REQUEST,
                message=f"{feature} not supported now: calls of several client sessions are in flight on this "
                f"server's shared connection, and {method} does not say which one it is for",
            )
        for ctx in reversed(self.inflight):
            if _can(_connection(ctx), feature, params) and ctx.session.can_send_request:
                result: dict[str, Any] = await ctx.session._request_outbound.send_raw_request(method, params, None)
                return result
        home = self.home
        # roots/list is the session's; so is a request during a call in the lane (no request context: the
        # lane takes only calls whose session is the stdio client or cannot take a server's request)
        if (feature == "roots" or self.lane_inflight) and home is not None and _can(home, feature, params):
            from mcp.shared.exceptions import NoBackChannelError

            try:
                result = await home.outbound.send_raw_request(method, params, None)
                return result
            except NoBackChannelError:
                pass
        raise MCPError(
            code=types.INVALID_REQUEST,
            message=f"{feature} not supported: no client request through the gateway can take {method} now",
        )

    async def notify(self, method: str, params: Any) -> None:
        """Pass a server's notification on: a `list_changed` to the gateway (which lists the server
        again and tells every client); the rest to the newest client request in flight (so that it
        rides that request's stream), else to the session's client; none when calls of several client
        sessions sharing the connection are in flight. Never raises."""
        if method in ("notifications/cancelled", "notifications/progress"):
            return  # the dispatcher applied the cancel; progress reaches its request's callback
        if self.pending >= MAX_PENDING_NOTIFICATIONS and not method.endswith("/list_changed"):
            self.dropped += 1  # the client does not keep up: drop rather than queue without bound
            if self.dropped == 1:
                log.warning("! %s: its client does not read fast enough; notifications are dropped", self.name)
            return
        self.pending += 1
        try:
            if method.endswith("/list_changed"):
                if self.on_list_changed is not None:
                    await self.on_list_changed(self.name, method)
                return
            if method == "notifications/resources/updated":
                uri = params.get("uri") if isinstance(params, dict) else None
                for connection in list(self.subscribers.get(uri, ())) if isinstance(uri, str) else []:
                    await connection.outbound.notify(method, params)
                return
            if self.home is None:
                # a connection client sessions share: nothing says which session's call a log message
                # (or another notification) belongs to, so none gets it rather than the wrong one
                log.info("  - %s: %s not passed on: this connection is shared by client sessions", self.name, method)
            elif self.inflight:
                ctx = self.inflight[-1]
                if method != "notifications/message" or _log_allowed(ctx, params):
                    await ctx.session._request_outbound.notify(method, params)
            elif self.lane_inflight:  # a handshake-era client's call: every message is its to see
                call = self.lane_inflight[-1]
                await call.lane.notify(call, method, params)
            elif getattr(self.home, "protocol_version", None) not in MODERN_PROTOCOL_VERSIONS:
                await self.home.outbound.notify(method, params)
        except Exception as e:  # a client gone meanwhile: nothing to tell
            log.info("  - %s: could not pass %s on: %s", self.name, method, e)
        finally:
            self.pending -= 1


def _check_request(method: str, version: str, params: Any) -> None:
    """The SDK's own check of a client request at its protocol version (mcp_types.methods), as the
    ServerRunner makes before a handler: a method the version does not have is -32601 (e.g.
    logging/setLevel at 2026-07-28), params of the wrong shape -32602. Raises MCPError."""
    from mcp_types import methods
    from pydantic import ValidationError

    try:
        methods.validate_client_request(method, version, params)
    except ValidationError:  # before ValueError, which it is
        raise MCPError(code=types.INVALID_PARAMS, message="Invalid request parameters", data="") from None
    except (KeyError, ValueError):
        raise MCPError(code=types.METHOD_NOT_FOUND, message="Method not found", data=method) from None


def _connection(ctx: Any) -> Any:
    return getattr(ctx.session, "_connection", None)


def _log_allowed(ctx: Any, params: Any) -> bool:
    """Whether a log message may go to the client of request `ctx`: at 2026-07-28 only at or above the
    level the request opted in to (its `_meta` io.modelcontextprotocol/logLevel; none: no message), as
    the SDK's own server decides (mcp.server.connection.allowed_log_levels); before, always (the
    client's logging/setLevel reached the server, which filters)."""
    from mcp.server.connection import allowed_log_levels

    level = params.get("level") if isinstance(params, dict) else None
    return level in allowed_log_levels(ctx.protocol_version, ctx.meta)


def _can(connection: Any, feature: str, params: Any) -> bool:
    capabilities = getattr(connection, "client_capabilities", None)
    if capabilities is None:
        return False
    have = getattr(capabilities, feature, None)
    if have is None:
        return False
    if feature == "elicitation" and isinstance(params, dict) and params.get("mode") == "url":
        return have.url is not None
    return True


class ForwardingSession(ClientSession):
    """The SDK's client session to one server, with the server's requests and notifications handed to
    a `Peer` as they came (no callback re-typing), and the client capabilities the peer can forward."""

    def __init__(self, read_stream: Any, write_stream: Any, peer: Peer) -> None:
        from ..metadata import version

        super().__init__(
            read_stream, write_stream, client_info=types.Implementation(name="docker-mcp-gateway", version=version())
        )
        self._peer = peer
        self.wire: Any = None  # a container server's streams, for the stdio front's lane (lane.Wire)

    def _build_capabilities(self, version: str) -> types.ClientCapabilities:
        return self._peer.client_capabilities()

    async def _on_request(self, dctx: Any, method: str, params: Any) -> dict[str, Any]:
        if method == "ping":
            return {}
        return await self._peer.request(method, params)

    async def _on_notify(self, dctx: Any, method: str, params: Any) -> None:
        await self._peer.notify(method, params)

    async def validate_tool_result(self, name: str, result: types.CallToolResult) -> None:
        # `docker mcp tools call` (the typed path) shows results as the server gave them; the gateway's
        # clients validate against the schema it lists
        return None


# --- the front ---


def front_server(live: Any, sessions: Any = None, log_calls: bool = False, stateless: bool = False) -> Any:
    """The MCP server the clients talk to: the SDK's lowlevel Server (handshake, version negotiation,
    ping, cancellation), with a `Router` in front of every request and notification. With `sessions`
    (the HTTP fronts), each client session gets its own connection to every long-lived server;
    without (stdio: one client; `stateless` HTTP: no client session), they are shared."""
    from mcp.server.lowlevel import NotificationOptions
    from mcp.server.lowlevel import Server as McpServer

    from ..metadata import version

    class GatewayServer(McpServer):
        new_lane: Callable[[Any, Any], Lane] | None = None

        def create_initialization_options(self, notification_options: Any = None, *args: Any, **kw: Any) -> Any:
            # the lists change when --watch reloads or a server says so: announce it, as the Go gateway does
            changed = NotificationOptions(prompts_changed=True, resources_changed=True, tools_changed=True)
            return super().create_initialization_options(notification_options or changed, *args, **kw)

        def get_capabilities(self, notification_options: Any = None, *args: Any, **kw: Any) -> types.ServerCapabilities:
            from mcp_types.version import MODERN_PROTOCOL_VERSIONS

            modern = kw.get("protocol_version") in MODERN_PROTOCOL_VERSIONS
            changed = None if modern else True  # 2026-07-28 delivers them on subscriptions/listen, not served
            offered = [c for c in (b.capabilities for b in live.aggregator.backends()) if c is not None]
            subscribe = any(c.resources is not None and c.resources.subscribe for c in offered)
            return types.ServerCapabilities(
                tools=types.ToolsCapability(list_changed=changed),
                prompts=types.PromptsCapability(list_changed=changed),
                resources=types.ResourcesCapability(subscribe=(subscribe and not modern) or None, list_changed=changed),
                logging=types.LoggingCapability() if any(c.logging is not None for c in offered) else None,
                completions=types.CompletionsCapability() if any(c.completions is not None for c in offered) else None,
            )

        async def run(self, read_stream: Any, write_stream: Any, *args: Any, **kw: Any) -> None:
            # stdio and SSE: the connection's plain tool calls take the lane (lane.py)
            async with anyio.create_task_group() as tg:
                reader = new_lane(write_stream, tg).reader(read_stream) if new_lane is not None else read_stream
                await super().run(reader, write_stream, *args, **kw)
                tg.cancel_scope.cancel()

    def lane(write_stream: Any, tg: Any) -> Lane:
        return Lane(live, sessions, write_stream, tg, log_calls)

    new_lane = None if stateless else lane  # stateless: a connection per request, never a session to learn
    server = GatewayServer("docker-mcp-gateway", version=version())
    server.new_lane = new_lane  # streamable HTTP: each session's transport makes its lane (streamable.py)
    # the router alone: the SDK's default OpenTelemetry span per message is not configured by the gateway
    server.middleware = [Router(live, sessions, log_calls, lambda: server.server_info_stamp, stateless)]
    return server


class Router:
    """A ServerMiddleware (mcp.server.context) that answers the list methods from the aggregate and
    routes every other request the gateway serves to its server, raw; the rest (initialize,
    server/discover, ping, notifications/initialized, cancellation) is the SDK's."""

    def __init__(
        self,
        live: Any,
        sessions: Any,
        log_calls: bool,
        server_info: Callable[[], Any] = dict,
        stateless: bool = False,
    ) -> None:
        self.live, self.sessions, self.log_calls, self.server_info = live, sessions, log_calls, server_info
        self.stateless = stateless  # no client session: a shared connection never gets a `home`
        self.handlers: dict[str, Callable[[Any, dict[str, Any]], Awaitable[Any]]] = {
            "tools/list": self.list_tools,
            "prompts/list": self.list_prompts,
            "resources/list": self.list_resources,
            "resources/templates/list": self.list_templates,
            "tools/call": self.call_tool,
            "prompts/get": self.get_prompt,
            "resources/read": self.by_uri,
            "resources/subscribe": self.by_uri,
            "resources/unsubscribe": self.by_uri,
            "completion/complete": self.complete,
            "logging/setLevel": self.set_level,
        }

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        handler = self.handlers.get(ctx.method)
        if handler is None or ctx.request_id is None:
            result = await call_next(ctx)
            if ctx.method == "notifications/roots/list_changed" and ctx.request_id is None:
                await self.roots_changed(ctx)
            return result
        connection = self.live.connection(ctx)
        lane = LANE.get(None)
        if lane is not None and lane.connection is None:
            lane.connection = _connection(ctx)  # the client session whose calls the lane may take
        if connection is not None and not connection.initialize_accepted:
            raise MCPError(code=types.INVALID_PARAMS, message="Invalid request parameters", data="")  # the SDK's gate
        _check_request(ctx.method, ctx.protocol_version, ctx.params)
        params = ctx.params if isinstance(ctx.params, dict) else {}
        result = await handler(ctx, params)
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            return self.modern_envelope(ctx.method, result)
        return result

    def modern_envelope(self, method: str, result: Any) -> dict[str, Any]:
        """What a 2026-07-28 result carries besides the answer (MCP spec 2026-07-28 basic/index,
        server/utilities/caching), filled where the server (an older one) or the gateway left it out:
        `resultType` "complete", the cache hints of a cacheable method (`ttlMs` 0, `cacheScope`
        "private": the gateway's lists change on reload), and the gateway's `serverInfo` in `_meta`,
        as the SDK's own results have."""
        out = _dump(result) if not isinstance(result, dict) else dict(result)
        if method in _CACHEABLE:
            out.setdefault("ttlMs", 0)
            out.setdefault("cacheScope", "private")
        out.setdefault("resultType", "complete")
        meta = out.get("_meta")
        if meta is None or isinstance(meta, dict):  # the client speaks to the gateway: its serverInfo
            out["_meta"] = {**(meta or {}), types.SERVER_INFO_META_KEY: self.server_info()}
        return out

    def pick(self, ctx: Any, backend: Any) -> Awaitable[Any]:
        """This client session's connection to `backend` (HTTP: its own copy, or the one sessions
        share; stdio and stateless HTTP: the shared one, whose `home` is the stdio client)."""
        if self.sessions is None:
            if backend.peer.home is None and not self.stateless:
                backend.peer.home = _connection(ctx)
            return shared(backend)
        connection = _connection(ctx)
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and (ctx.meta or {}).get(types.LOG_LEVEL_META_KEY):
            from .backends import STATEFUL

            connection.state[STATEFUL] = True  # its logs must reach it alone: a connection of its own
        return self.sessions.pick(backend, connection)  # type: ignore[no-any-return]

    # the aggregate

    async def list_tools(self, ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        return _page("tools", self.live.aggregator.tool_dicts(), params)

    async def list_prompts(self, ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        return _page("prompts", [_dump(p) for _, p in self.live.aggregator.prompts.values()], params)

    async def list_resources(self, ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        return _page("resources", [_dump(r) for _, r in self.live.aggregator.resources.values()], params)

    async def list_templates(self, ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        return _page("resourceTemplates", [_dump(t) for _, t in self.live.aggregator.templates], params)

    # routed requests

    async def call_tool(self, ctx: Any, params: dict[str, Any]) -> Any:
        name = params.get("name")
        if not isinstance(name, str):
            raise MCPError(code=types.INVALID_PARAMS, message="tools/call needs the tool's name (params.name)")
        route = self.live.aggregator.routes.get(name)
        if route is None:
            return error_result(f"unknown tool: {name}")
        if self.log_calls:
            calls.info("  - Calling tool %s with arguments: %s", name, _shape(params.get("arguments")))
        started = time.monotonic()
        failed = False
        try:
            backend = await self.pick(ctx, route.backend)
            result = await backend.forward("tools/call", {**params, "name": route.original}, ctx)
            failed = bool(result.get("isError"))
            return result
        except MCPError as e:
            failed = True
            if not _local(e):
                raise  # the server's own error, as it sent it
            return self._failed(route.backend, name, e)
        except Exception as e:
            failed = True
            return self._failed(route.backend, name, e)
        finally:
            if self.log_calls:
                took = time.monotonic() - started
                calls.info("  > Calling tool %s took: %s%s", name, _duration(took), " (error)" if failed else "")

    def _failed(self, backend: Any, name: str, e: BaseException) -> types.CallToolResult:
        reason = backend.explain(e)
        log.warning("%s: tool %s failed: %s", backend.name, name, reason)
        prefix = f"{backend.name}: "
        return error_result(reason if reason.startswith(prefix) else prefix + reason)

    async def get_prompt(self, ctx: Any, params: dict[str, Any]) -> Any:
        name = params.get("name")
        owner = self.live.aggregator.prompts.get(name) if isinstance(name, str) else None
        if owner is None:
            raise MCPError(code=types.INVALID_PARAMS, message=f"unknown prompt: {name}")
        return await self.forward(ctx, owner[0], params)

    async def by_uri(self, ctx: Any, params: dict[str, Any]) -> Any:
        uri = params.get("uri")
        backend = self.live.aggregator.resource_owner(uri) if isinstance(uri, str) else None
        if backend is None:
            raise MCPError(code=types.INVALID_PARAMS, message=f"unknown resource: {uri}")
        if ctx.method == "resources/subscribe" and _connection(ctx) is not None:
            from .backends import STATEFUL

            _connection(ctx).state[STATEFUL] = True  # its own connections: a subscription is its own
        result = await self.forward(ctx, backend, params)
        if ctx.method != "resources/read":  # the session's updates come from the connection it subscribed on
            (await self.pick(ctx, backend)).peer.subscribe(uri, _connection(ctx), ctx.method == "resources/subscribe")
        return result

    async def complete(self, ctx: Any, params: dict[str, Any]) -> Any:
        ref = params.get("ref")
        backend = self.live.aggregator.completion_owner(ref) if isinstance(ref, dict) else None
        if backend is None:
            raise MCPError(code=types.INVALID_PARAMS, message=f"no server offers completions for {ref}")
        return await self.forward(ctx, backend, params)

    async def set_level(self, ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        """logging/setLevel goes to every server that announced `logging`; one that fails is logged. The
        level is also kept for the session: a 2026-07-28 server, which has no setLevel, gets it in each
        forwarded request's `_meta` (its per-request log opt-in)."""
        from .backends import STATEFUL

        connection = _connection(ctx)
        if connection is not None and isinstance(params.get("level"), str):
            connection.state[LOG_LEVEL_STATE] = params["level"]
            connection.state[STATEFUL] = True  # its own connections from now on: the level is its own

        async def one(backend: Any) -> None:
            try:
                with anyio.fail_after(SET_LEVEL_TIMEOUT):
                    await (await self.pick(ctx, backend)).forward(ctx.method, params, ctx)
            except Exception as e:
                log.warning("%s: logging/setLevel failed: %s", backend.name, backend.explain(e))

        async with anyio.create_task_group() as tg:  # concurrently: one slow server holds up no other
            for backend in self.live.aggregator.backends():
                # a per-call server forgets it with its container; a 2026-07-28 one gets it per request
                logs = backend.capabilities is not None and backend.capabilities.logging is not None
                if logs and backend.long_lived and not backend.modern:
                    tg.start_soon(one, backend)
        return {}

    async def forward(self, ctx: Any, backend: Any, params: dict[str, Any]) -> Any:
        try:
            return await (await self.pick(ctx, backend)).forward(ctx.method, params, ctx)
        except MCPError as e:
            if not _local(e):
                raise
            raise MCPError(code=types.INTERNAL_ERROR, message=f"{backend.name}: {backend.explain(e)}") from None
        except Exception as e:
            raise MCPError(code=types.INTERNAL_ERROR, message=f"{backend.name}: {backend.explain(e)}") from None

    # notifications from the client

    async def roots_changed(self, ctx: Any) -> None:
        """notifications/roots/list_changed goes to every server connection this client session has (a
        session that declared roots has its own connection to every server it used, remote ones too)."""
        connection = _connection(ctx)
        if connection is None or not connection.initialize_accepted:
            return
        backends = self.live.aggregator.backends() if self.sessions is None else self.sessions.connected(connection)
        for backend in backends:
            try:
                await backend.notify("notifications/roots/list_changed", None)
            except Exception as e:
                log.info("  - %s: could not pass notifications/roots/list_changed on: %s", backend.name, e)


PAGE_SIZE = 500  # items per page of an aggregated list


def _page(field: str, items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """One page of an aggregated list (MCP spec server/utilities/pagination): the cursor is opaque to
    the client (the offset, base64), and `nextCursor` is set while items remain. A cursor the gateway did
    not give is INVALID_PARAMS (-32602), as the spec recommends."""
    import base64

    cursor = params.get("cursor")
    start = 0
    if cursor is not None:
        try:
            start = int(base64.urlsafe_b64decode(str(cursor).encode()).decode().removeprefix("offset:"))
        except (ValueError, UnicodeDecodeError):
            start = -1
        if not 0 <= start <= len(items):
            raise MCPError(code=types.INVALID_PARAMS, message="Invalid cursor: list again from the start")
    out: dict[str, Any] = {field: items[start : start + PAGE_SIZE]}
    if start + PAGE_SIZE < len(items):
        out["nextCursor"] = base64.urlsafe_b64encode(f"offset:{start + PAGE_SIZE}".encode()).decode()
    return out


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)  # type: ignore[no-any-return]


def _shape(arguments: Any) -> str:
    """What the arguments look like, never their keys or values (go-plugin-gateway.md §7.2)."""
    if arguments is None:
        return "none"
    if isinstance(arguments, dict):
        return f"object with {len(arguments)} field(s)"
    if isinstance(arguments, list):
        return f"array with {len(arguments)} item(s)"
    if isinstance(arguments, bool):
        return "boolean"
    if isinstance(arguments, int | float):
        return "number"
    return "string" if isinstance(arguments, str) else "raw JSON"


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f}ms" if seconds < 1 else f"{seconds:.2f}s"
