"""Backends: one MCP client session per server, owned by a task of its own so that it can be opened,
used concurrently by the front's handlers, and reopened after a failure."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import mcp_types as types
from anyio.abc import TaskGroup
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..catalog.schema import Server
from ..errors import DockerMcpError

if TYPE_CHECKING:
    from .lane import Wire

log = logging.getLogger("docker_mcp.gateway")
CONNECT_TIMEOUT_ENV = "DOCKER_MCP_CONNECT_TIMEOUT"  # seconds a server may take to answer initialize


def connect_timeout() -> float:
    try:
        return max(1.0, float(os.environ.get(CONNECT_TIMEOUT_ENV, "60")))
    except ValueError:
        return 60.0


Transport = Callable[[], contextlib.AbstractAsyncContextManager[Any]]


class BackendError(DockerMcpError):
    pass


class Backend:
    """A connected MCP server. `transport` opens the SDK transport (its streams) for this server.

    Long-lived: one session, opened at start by a task of its own, shared by all calls. Per call (the
    default for container servers): the tools are listed once at start, and every call opens its own
    session (its own container) and closes it afterwards. `shared` (remote servers): behind an HTTP
    front, the one session serves every client session that declared no sampling, elicitation or roots
    (its peer routes the server's messages per client request and subscription); a client session that
    did, and every HTTP client session for a long-lived container server, gets its own copy.
    """

    def __init__(
        self,
        name: str,
        transport: Transport,
        long_lived: bool = True,
        auth: Any = None,
        http: HttpStatus | None = None,
        shared: bool = False,
    ) -> None:
        from .router import Peer

        self.name = name
        self.peer = Peer(name)  # where this connection's server-to-client requests and notifications go
        self.long_lived = long_lived
        self.shared = shared
        self._reconnect = anyio.Lock()
        self.auth = auth  # a BearerToken, whose failure explains a lost connection
        self.http = http  # a remote server's last HTTP error, which the SDK's error leaves out
        self._transport = transport
        self._tg: TaskGroup | None = None
        self._session: Any = None
        self._stop: anyio.Event | None = None
        self._listing: Listing | None = None  # per call: what the server offered at start

    async def start(self, tg: TaskGroup) -> None:
        """Connect and initialize; raises BackendError (after connect_timeout() seconds at the most)."""
        self._tg = tg
        try:
            limit = connect_timeout()
            with anyio.fail_after(limit):
                if self.long_lived:
                    await tg.start(self._run)
                    if self._listing is None:
                        self._listing = await _listing(self._require())
                else:
                    async with self._open() as session:
                        self._listing = await _listing(session)
        except TimeoutError:
            raise BackendError(f"{self.name}: no answer to initialize within {limit:g} s") from None
        except BackendError:
            raise
        except Exception as e:
            raise BackendError(f"{self.name}: {self.explain(e)}") from None

    def explain(self, e: BaseException) -> str:
        """Why a request failed: the token's problem when there was one (the transport reports only
        that the connection closed), else the error itself."""
        if self.auth is not None and self.auth.failure is not None:
            return str(self.auth.failure)
        if self.http is not None and self.http.failure is not None and _GENERIC_HTTP_ERROR in describe(e):
            return self.http.failure  # (describe: the SDK's error may come wrapped in an exception group)
        if self.http is not None and self.http.oversized is not None:
            reason, self.http.oversized = self.http.oversized, None
            return reason
        return describe(e)

    @contextlib.asynccontextmanager
    async def _open(self, peer: Any = None) -> AsyncIterator[Any]:
        """A session with the server over a new transport, its version negotiated (`handshake`); the
        server's requests and notifications go to `peer` (default: this backend's)."""
        from .lane import Wire
        from .router import ForwardingSession

        async with (
            self._transport() as streams,
            ForwardingSession(streams[0], streams[1], peer or self.peer) as session,
        ):
            session.wire = streams[0] if isinstance(streams[0], Wire) else None
            await handshake(session, discover_first=(peer or self.peer).discover_first)
            yield session

    async def _run(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        stop = anyio.Event()
        mine: Any = None
        try:
            async with self._open() as session:
                mine = self._session = session
                self._stop = stop
                ended: list[bool] = []
                if session.wire is not None:  # a container server: its process may end

                    def on_end() -> None:
                        ended.append(True)
                        if self._session is session:  # at once: the next call reconnects, whoever makes it
                            self._session = None
                        stop.set()

                    session.wire.on_end = on_end
                task_status.started()
                await stop.wait()
                if ended:
                    log.warning("%s: connection lost: the server ended it; it starts again at the next call", self.name)
        except BaseException as e:
            if mine is None and not isinstance(e, anyio.get_cancelled_exc_class()):
                raise BackendError(f"{self.name}: {self.explain(e)}") from None  # failed while connecting
            if not isinstance(e, Exception):
                raise
            log.warning("%s: connection lost: %s", self.name, self.explain(e))
        finally:
            if self._session is mine:  # a session started since (after stop()) stays
                self._session = None

    async def listing(self) -> Listing:
        """The server's tools, prompts, resources and resource templates."""
        if self._listing is not None:
            return self._listing
        return await _listing(self._require())

    async def _request(self, send: Callable[[Any], Any], peer: Any = None) -> Any:
        """One request: in its own session (per call), or in the shared one (reopened if it was lost)."""
        if not self.long_lived:
            limit = connect_timeout()
            # the deadline covers starting the server and its initialize, not the request itself
            try:
                with anyio.CancelScope(deadline=anyio.current_time() + limit) as scope:
                    async with self._open(peer) as session:
                        scope.deadline = math.inf
                        return await send(session)
            except BaseExceptionGroup as group:  # the session's task group wraps the server's own error
                from mcp.shared.exceptions import MCPError

                answers = [e for e in group.exceptions if isinstance(e, MCPError)]
                if len(answers) == 1 and len(group.exceptions) == 1:
                    raise answers[0] from None
                raise
            raise BackendError(f"{self.name}: no answer to initialize within {limit:g} s")
        if self._session is None and self._tg is not None:
            async with self._reconnect:  # the session was lost: reconnect once, for every waiting call
                if self._session is None:
                    await self.start(self._tg)
        return await send(self._require())

    async def forward(self, method: str, params: dict[str, Any] | None, ctx: Any) -> dict[str, Any]:
        """Send a client's request on as it came (`params` already routed: a tool's original name) and
        return the server's result untouched; the server's requests, notifications and progress while it
        runs go back to the client request `ctx` (a ServerRequestContext of the front). Raises MCPError
        (the server's own error, passed on as it is) or what the transport raised."""
        if not self.long_lived:
            from .router import Peer, _connection

            # this call's own container: its own peer, told the capabilities of the client that called
            peer = Peer(
                self.name,
                home=_connection(ctx) if ctx is not None else None,
                advertise=self.peer.advertise,
                discover_first=self.peer.discover_first,
            )
            # a per-call server's list_changed is not followed: listing it again costs a container each
            result: dict[str, Any] = await self._request(lambda s: raw_request(s, method, params, ctx, peer), peer)
            return result
        result = await self._request(lambda s: raw_request(s, method, params, ctx, self.peer))
        return result

    def notify(self, method: str, params: dict[str, Any] | None) -> Any:
        """Send a client's notification on (e.g. notifications/roots/list_changed); a no-op when this
        server has no open session (a per-call server asks for the roots when it next runs)."""
        session = self._session
        if session is None:
            return anyio.lowlevel.checkpoint()
        return session._dispatcher.notify(method, params, _stamp_options(session, method, params))

    async def call_tool(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        """`docker mcp tools call`: the tool's result, typed (a 2026-07-28 input_required result is driven
        as the gateway drives it, with no client to answer; see raw_request). Raises MCPError (the server's
        own error) or what the transport raised."""
        params = {"name": name, "arguments": arguments or {}}
        raw = await self._request(lambda s: raw_request(s, "tools/call", params, None, self.peer))
        return types.CallToolResult.model_validate(raw)

    def _require(self) -> Any:
        if self._session is None:
            raise BackendError(f"{self.name} is not connected")
        return self._session

    async def stop(self) -> None:
        """Close the session (its container stops); a later request starts a new one at once, without
        waiting for this one to close."""
        if self._stop is not None:
            self._stop.set()
            self._stop = None
        self._session = None

    def copy(self) -> Backend:
        """Another connection to the same server (its own container), knowing what the server offers."""
        other = Backend(self.name, self._transport, self.long_lived, self.auth, self.http, self.shared)
        other._listing = self._listing
        other.peer.advertise, other.peer.on_list_changed = self.peer.advertise, self.peer.on_list_changed
        other.peer.discover_first = self.peer.discover_first
        return other

    async def relist(self) -> Listing:
        """List what the server offers again (after it said a list changed), on its open session or,
        per call, a session of its own; the new listing replaces the one kept from start."""
        if self.long_lived and self._session is not None:
            listing = await _listing(self._session)
        else:
            async with self._open() as session:
                listing = await _listing(session)
        self._listing = listing
        return listing

    @property
    def wire(self) -> Wire | None:
        """The open connection's streams for the stdio front's lane (lane.py): a long-lived container
        server's, None otherwise (per call, remote, or not connected)."""
        if not self.long_lived or self._session is None:
            return None
        return getattr(self._session, "wire", None)

    @property
    def modern(self) -> bool:
        """Whether the server was connected at 2026-07-28 (stateless: no logging/setLevel, no requests
        to the client)."""
        return self._listing is not None and self._listing.protocol_version in MODERN_PROTOCOL_VERSIONS

    @property
    def capabilities(self) -> types.ServerCapabilities | None:
        """What the server announced when it was connected at start (None: not connected yet)."""
        return self._listing.capabilities if self._listing is not None else None


async def handshake(session: Any, discover_first: bool = False) -> None:
    """Agree on a protocol version with a server.

    `discover_first` (a connection that serves `docker mcp tools` itself, with no client whose requests a
    handshake-era connection would carry): the SDK's own auto mode (mcp.client._probe.negotiate_auto),
    `server/discover` at 2026-07-28 first and `initialize` when the server gives no modern answer; at
    2026-07-28 every request then carries the `_meta` envelope and the MCP-Protocol-Version, Mcp-Method
    and Mcp-Name headers (SEP-2243, SEP-2575).

    Otherwise (the gateway's connections, which pass a server's requests on to its clients): the
    `initialize` handshake first (2025-11-25 and older: the era in which a server may ask the client for
    sampling, elicitation and roots within a call, which a server of both eras does only there), then,
    when the server speaks only the stateless 2026-07-28 revision, `server/discover`. Such a server
    answers initialize with -32022 "unsupported protocol version", with a version the handshake does not
    know, or refuses it outright (HTTP 400 "Missing MCP-Protocol-Version header", which the SDK's
    transport turns into another MCPError): after any MCPError, discover is tried once, and when it
    fails too the initialize error is the one raised (the server is then one of the handshake era that
    refused us). MCP spec 2026-07-28, basic/lifecycle."""
    from mcp.shared.exceptions import MCPError

    if discover_first:
        from mcp.client._probe import negotiate_auto

        await negotiate_auto(session)
        return
    try:
        await session.initialize()
    except MCPError as e:
        if e.code == types.UNSUPPORTED_PROTOCOL_VERSION:
            await session.discover()
            return
        try:
            await session.discover()
        except MCPError:
            raise e from None
    except RuntimeError as e:  # the SDK's "Unsupported protocol version from the server: …"
        if "protocol version" not in str(e):
            raise
        await session.discover()


def _stamp_options(session: Any, method: str, params: dict[str, Any] | None) -> Any:
    """What the SDK adds to a message for the negotiated version (the MCP-Protocol-Version header; at
    2026-07-28 the request's `_meta` envelope and Mcp-Method/Mcp-Name headers). Returns the options;
    `params` (a copy the caller owns) gets the envelope."""
    data: dict[str, Any] = {"method": method, "params": params if params is not None else {}}
    opts: dict[str, Any] = {}
    session._stamp(data, opts)
    return opts


_RESERVED_META = "io.modelcontextprotocol/"  # the _meta keys the protocol itself defines (2026-07-28)


async def raw_request(session: Any, method: str, params: dict[str, Any] | None, ctx: Any, peer: Any) -> dict[str, Any]:
    """Send one request on `session` as the client wrote it and return the raw result dict: the SDK
    session's own path (`ClientSession.send_request`) without its typed re-validation, so a result
    reaches the client untouched (structured content, `_meta`, fields of a newer revision). The client's
    `_meta.progressToken`, when it sent one, is replaced by the session's own, and the server's progress
    is reported back under the client's (MCP spec basic/utilities/progress). While the request runs,
    `ctx` is in `peer.inflight`: the server's requests and notifications go to that client request."""
    out = dict(params) if params is not None else {}
    meta = out.get("_meta")
    token = meta.get("progressToken") if isinstance(meta, dict) else None
    modern = session.protocol_version in MODERN_PROTOCOL_VERSIONS
    if isinstance(meta, dict):
        # the client's own 2026-07-28 envelope (its version, info, capabilities) is not the gateway's to
        # pass on: the session stamps the gateway's for the version it speaks with this server; a log
        # level opt-in stays for a 2026-07-28 server
        out["_meta"] = {
            k: v
            for k, v in meta.items()
            if k != "progressToken"
            and not (k.startswith(_RESERVED_META) and not (modern and k == types.LOG_LEVEL_META_KEY))
        }
        if not out["_meta"]:
            del out["_meta"]
    if ctx is not None and modern:
        from .router import LOG_LEVEL_STATE, _connection

        level = getattr(_connection(ctx), "state", {}).get(LOG_LEVEL_STATE)
        if level is not None:  # the client's logging/setLevel, as 2026-07-28's per-request opt-in
            out["_meta"] = {types.LOG_LEVEL_META_KEY: level, **out.get("_meta", {})}
    data: dict[str, Any] = {"method": method, "params": out}
    opts: dict[str, Any] = {}
    session._stamp(data, opts)
    if token is not None and ctx is not None:

        async def progress(value: float, total: float | None, message: str | None) -> None:
            await ctx.session.report_progress(value, total, message)

        opts["on_progress"] = progress
    entry = peer.enter(ctx)
    try:
        result: dict[str, Any] = await session._dispatcher.send_raw_request(method, data["params"] or None, opts)
        if modern and result.get("resultType") == "input_required" and not _modern_request(ctx):
            result = await _input_required(session, method, data["params"], opts, result, ctx, peer)
        return result
    finally:
        peer.leave(entry)


def _modern_request(ctx: Any) -> bool:
    """Whether the client request `ctx` came at 2026-07-28 (its client answers an input_required result
    itself); False for a handshake-era client and for `docker mcp tools` (None)."""
    return ctx is not None and getattr(ctx, "protocol_version", None) in MODERN_PROTOCOL_VERSIONS


async def _input_required(
    session: Any,
    method: str,
    params: dict[str, Any],
    opts: Any,
    first: dict[str, Any],
    ctx: Any,
    peer: Any,
) -> dict[str, Any]:
    """A 2026-07-28 server's `input_required` result (SEP-2322, MCP spec 2026-07-28
    basic/utilities/mrtr) to a request of a client that cannot take it (a handshake-era client, or
    `docker mcp tools`), driven by the SDK's own loop (mcp.client._input_required): each embedded request
    (sampling/createMessage, elicitation/create, roots/list) goes to the client as a request of its era
    through `peer` (the client's answer passed on untouched), then the request is sent again with a new
    id, the answers as `inputResponses` and `requestState` as it came (left out when none came), at
    most 10 rounds. Returns the final raw result. Raises MCPError: the client's error or refusal (a
    client without the capability), or -32603 when the server's result does not parse or the rounds
    run out; BackendError (in an exception group) for `docker mcp tools`, which has nobody to ask."""
    from mcp.client._input_required import InputRequiredRoundsExceededError, run_input_required_driver
    from mcp.shared.exceptions import MCPError
    from pydantic import ValidationError

    latest = first

    def parsed(raw: dict[str, Any]) -> Any:
        try:
            return types.InputRequiredResult.model_validate(raw)
        except ValidationError:
            raise MCPError(
                code=types.INTERNAL_ERROR, message=f"{peer.name}: its input_required result does not parse"
            ) from None

    async def dispatch(key: str, request: Any) -> Any:
        asked = latest["inputRequests"][key]  # as the server wrote it, not re-serialized
        if ctx is None:
            raise BackendError(
                f"{peer.name}: the server asked for {asked.get('method')}, which docker mcp tools cannot answer: "
                "call the tool from an MCP client through docker mcp gateway run"
            )
        try:
            answer: dict[str, Any] = await peer.request(asked.get("method"), asked.get("params"))
        except MCPError as e:
            return e.error
        return answer

    async def retry(responses: Any, state: str | None) -> Any:
        nonlocal latest
        again = {k: v for k, v in params.items() if k not in ("inputResponses", "requestState")}
        if responses is not None:
            again["inputResponses"] = responses
        if state is not None:
            again["requestState"] = state
        raw: dict[str, Any] = await session._dispatcher.send_raw_request(method, again, opts)
        if raw.get("resultType") != "input_required":
            return raw
        latest = raw
        return parsed(raw)

    try:
        result: dict[str, Any] = await run_input_required_driver(parsed(first), dispatch=dispatch, retry=retry)
    except InputRequiredRoundsExceededError as e:
        raise MCPError(code=types.INTERNAL_ERROR, message=f"{peer.name}: {e.args[0].split(';')[0]}") from None
    return result


STATEFUL = "docker_mcp.stateful"  # Connection.state: the session set a log level or subscribed


def _takes_requests(connection: Any) -> bool:
    """Whether a client session needs its own connection to a remote server: it declared a capability a
    server's request needs (sampling, elicitation, roots), or it keeps state on the server (it set a log
    level or subscribed to a resource, or is a 2026-07-28 request that opted in to log messages:
    STATEFUL). On a shared connection a server's request or log message does not say which session's
    call it belongs to, and a level or a subscription would be every session's. Other 2026-07-28
    requests (a Connection per request, no back-channel) share."""
    if connection.state.get(STATEFUL):
        return True
    if getattr(connection, "protocol_version", None) in MODERN_PROTOCOL_VERSIONS:
        return False
    capabilities = getattr(connection, "client_capabilities", None)
    return capabilities is not None and any(
        getattr(capabilities, name, None) is not None for name in ("sampling", "elicitation", "roots")
    )


MAX_SESSION_COPIES = 64  # client sessions that may each have their own container of one server at once


class SessionBackends:
    """Long-lived servers behind an HTTP front: one connection (one container) per client session.
    A session's copy of a server starts at the session's first request to it and stops when the
    session ends (the client's DELETE, a closed SSE stream, or the gateway's exit)."""

    KEY = "docker_mcp.backends"

    def __init__(self, tg: TaskGroup) -> None:
        self._tg = tg
        self._copies: dict[str, int] = {}  # server name -> client sessions with their own copy
        self._sessions: list[dict[int, tuple[Backend, Backend, anyio.Event]]] = []  # each open session's copies

    def _count(self, name: str, step: int) -> None:
        self._copies[name] = self._copies.get(name, 0) + step

    async def pick(self, backend: Backend, connection: Any) -> Backend:
        """This session's connection to `backend`, started at its first request. Concurrent first
        requests to one server wait for the one start; a start never holds up another server's."""
        if not backend.long_lived or connection is None:
            return backend  # per-call servers start a container per call anyway
        if not _takes_requests(connection):
            # one connection serves every session whose client a server cannot ask anything; and every
            # 2026-07-28 request (stateless: each is a Connection of its own) but one that wants logs
            modern = getattr(connection, "protocol_version", None) in MODERN_PROTOCOL_VERSIONS
            if backend.shared or modern:
                return backend
        mine = self._mine(connection)
        entry = mine.get(id(backend))
        if entry is None:
            if self._copies.get(backend.name, 0) >= MAX_SESSION_COPIES:
                raise BackendError(
                    f"{backend.name}: {MAX_SESSION_COPIES} client sessions already have their own connection "
                    "to it; try again when one ends"
                )
            self._count(backend.name, +1)
            copy = backend.copy()
            copy.peer.home = connection  # the server's requests and notifications go to this session
            ready = anyio.Event()
            mine[id(backend)] = (backend, copy, ready)
            try:
                await copy.start(self._tg)
            except BaseException:
                del mine[id(backend)]
                self._count(backend.name, -1)
                raise
            finally:
                ready.set()
            return copy
        _, copy, ready = entry
        await ready.wait()
        if id(backend) not in mine:
            raise BackendError(f"{backend.name}: could not connect")
        return copy

    def started(self, backend: Backend, connection: Any) -> Backend | None:
        """This session's copy of `backend` when it has started one (None otherwise): what `pick` would
        give without starting anything."""
        state = connection.state.get(self.KEY)
        entry = state.get(id(backend)) if state is not None else None
        if entry is None or not entry[2].is_set():
            return None
        copy: Backend = entry[1]
        return copy

    def connected(self, connection: Any) -> list[Backend]:
        """The connections this client session has opened."""
        state = connection.state.get(self.KEY) if connection is not None else None
        return [copy for _, copy, ready in (state or {}).values() if ready.is_set()]

    def _mine(self, connection: Any) -> dict[int, tuple[Backend, Backend, anyio.Event]]:
        # this session's copies, by the backend they copy (kept in the value, so its id stays unique)
        mine: dict[int, tuple[Backend, Backend, anyio.Event]] | None = connection.state.get(self.KEY)
        if mine is None:
            started: dict[int, tuple[Backend, Backend, anyio.Event]] = {}
            mine = connection.state[self.KEY] = started

            self._sessions.append(started)

            async def stop_all() -> None:
                for key, (_, copy, _) in list(started.items()):
                    started.pop(key, None)
                    self._count(copy.name, -1)
                    await copy.stop()
                    log.info("  - %s: the client session ended; its connection is closed", copy.name)
                if started in self._sessions:
                    self._sessions.remove(started)

            connection.exit_stack.push_async_callback(stop_all)
        return mine

    async def retire(self, serving: list[Backend]) -> None:
        """Stop every session's copy of a backend that is no longer served (a --watch reload replaced or
        removed its server): the session's next request to the server starts a copy of the new one."""
        keep = {id(b) for b in serving}
        for started in list(self._sessions):
            for key, (_, copy, _) in list(started.items()):
                if key not in keep:
                    started.pop(key, None)
                    self._count(copy.name, -1)
                    await copy.stop()
                    log.info("  - %s: its configuration changed; a session's connection is closed", copy.name)


@dataclass(frozen=True)
class Listing:
    tools: list[types.Tool]
    prompts: list[types.Prompt]
    resources: list[types.Resource]
    templates: list[types.ResourceTemplate]
    capabilities: types.ServerCapabilities | None = None
    protocol_version: str | None = None


async def _listing(session: Any) -> Listing:
    """Everything the server offers, by the capabilities it announced."""
    capabilities = session.server_capabilities
    has = {
        "tools": capabilities is None or capabilities.tools is not None,
        "prompts": capabilities is not None and capabilities.prompts is not None,
        "resources": capabilities is not None and capabilities.resources is not None,
    }
    return Listing(
        tools=await _all(session.list_tools, "tools") if has["tools"] else [],
        prompts=await _all(session.list_prompts, "prompts") if has["prompts"] else [],
        resources=await _all(session.list_resources, "resources") if has["resources"] else [],
        templates=await _all(session.list_resource_templates, "resource_templates") if has["resources"] else [],
        capabilities=capabilities,
        protocol_version=session.protocol_version,
    )


async def _all(method: Callable[..., Any], field: str) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        result = await method(params=params)
        items += getattr(result, field)
        cursor = result.next_cursor
        if not cursor:
            return items


def describe(e: BaseException) -> str:
    """One line about a failure, never a request's headers or body."""
    if isinstance(e, BaseExceptionGroup):
        inner = [x for x in e.exceptions if not isinstance(x, anyio.get_cancelled_exc_class())]
        if inner:
            return describe(inner[0])
    from ..oauth.errors import OAuthError

    if isinstance(e, DockerMcpError | OAuthError):
        return str(e)
    import httpx2

    if isinstance(e, httpx2.HTTPStatusError):  # the query may hold a key: never shown
        return f"HTTP {e.response.status_code} from {e.request.url.copy_with(query=None)}"
    if isinstance(e, httpx2.TransportError):
        return f"cannot connect ({type(e).__name__})"
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:200]}" if text else type(e).__name__


# --- remote servers ---

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def expand_headers(server: Server, resolve: Callable[[str, str | None], str]) -> dict[str, str]:
    """remote.headers with ${VAR} taken from the server's secret whose `env` is VAR."""
    by_env = {s.env: s.name for s in server.secrets if s.env}

    def value(match: re.Match[str]) -> str:
        var = match.group(1) or match.group(2)
        if var not in by_env:
            raise BackendError(
                f"{server.name}: remote.headers uses ${{{var}}}, but no secret of the server has env {var}"
            )
        return resolve(by_env[var], var)

    return {key: _VAR.sub(value, raw) for key, raw in server.remote.headers.items()}


_GENERIC_HTTP_ERROR = "Server returned an error response"  # the SDK's error for any other non-2xx answer


STORE_TIMEOUT = 10.0  # seconds the gateway waits for the token store to keep a challenged scope


class HttpStatus:
    """Remembers a remote server's last HTTP error answer ("HTTP 500 from <url>"), to say it instead of
    the SDK's generic error. A 401 to a server the gateway sends no token (no `oauth` block, no client
    stored) says to authorize it (`oauth authorize` registers a client for it). A 403 whose `WWW-Authenticate: Bearer` challenge says `insufficient_scope`
    (RFC 6750 §3.1; the MCP authorization spec's step-up) names the scope and the command that gets it,
    and `on_insufficient_scope(scopes)` (run in a thread: it writes the token store) remembers the
    scopes for that command."""

    def __init__(
        self,
        server: str = "",
        on_insufficient_scope: Callable[[tuple[str, ...]], Any] | None = None,
        sends_token: bool = True,
        sent: Callable[[], tuple[str, ...]] = tuple,
    ) -> None:
        self.server = server
        self.on_insufficient_scope = on_insufficient_scope
        self.sends_token = sends_token  # False: a 401 means the server wants an authorization it lacks
        self.sent = sent  # the credentials sent to the server: a challenge that echoes one is not used
        self.failure: str | None = None
        self.oversized: str | None = None  # a message cut off by bounded_client, until explained

    async def hook(self, response: Any) -> None:
        if response.status_code >= 400:  # the query may hold a key: never shown
            self.failure = f"HTTP {response.status_code} from {response.request.url.copy_with(query=None)}"
            header = response.headers.get("WWW-Authenticate", "")
            if response.status_code == 403 and "insufficient_scope" in header:
                await self._step_up(header[:2048])  # bounded: the challenge parser is not linear
            elif response.status_code == 401 and not self.sends_token and self.server:
                self.failure += f": it wants an authorization: run 'docker mcp oauth authorize {self.server}'"
        elif response.status_code < 300:
            self.failure = None

    async def _step_up(self, header: str) -> None:
        from ..errors import terminal_safe, untrusted_text
        from ..oauth.discovery import parse_www_authenticate

        for challenge in parse_www_authenticate(header):
            if challenge.scheme.lower() == "bearer" and challenge.params.get("error") == "insufficient_scope":
                scope = untrusted_text(challenge.params.get("scope", ""), self.sent(), 1000) or ""
                scopes = tuple(terminal_safe(scope).split())[:50]
                if self.on_insufficient_scope is not None and scopes:
                    try:  # the token store may be slow or broken: the message matters more
                        with anyio.fail_after(STORE_TIMEOUT):
                            await anyio.to_thread.run_sync(self.on_insufficient_scope, scopes, abandon_on_cancel=True)
                    except Exception as e:
                        log.warning(
                            "! %s: could not keep the scope for the next authorize: %s", self.server, describe(e)
                        )
                wanted = f"the scope {' '.join(scopes)}" if scopes else "more scope"
                self.failure = (
                    f"{self.failure}: the token lacks {wanted} (insufficient_scope): "
                    f"run 'docker mcp oauth authorize {self.server}'"
                )
                return


MAX_MESSAGE_ENV = "DOCKER_MCP_MAX_MESSAGE_BYTES"


def max_message_bytes() -> int:
    """The most a remote server may send for one message: a JSON answer's body, or one event of an
    event stream. DOCKER_MCP_MAX_MESSAGE_BYTES, default 32 MiB; not a whole number in
    [1 KiB, 4 GiB]: the default, with a warning."""
    default = 32 * 1024 * 1024
    raw = os.environ.get(MAX_MESSAGE_ENV, "")
    if not raw:
        return default
    value = int(raw) if raw.isdigit() else -1
    if not 1024 <= value <= 4 * 1024**3:
        log.warning("! %s=%r is not a number of bytes in [1024, 4 GiB]: using 32 MiB", MAX_MESSAGE_ENV, raw[:40])
        return default
    return value


class MessageTooLarge(BackendError):
    """A remote server sent more than max_message_bytes() for one message; its connection is dropped."""


DRAIN_SECONDS = 0.05  # how long the rest of an answered POST's stream may take to be read


def bounded_client(limit: int, http: HttpStatus | None = None, **kw: Any) -> Any:
    """An httpx2.AsyncClient (the SDK transports' HTTP client) whose responses are cut off, failing the
    request (MessageTooLarge), once one message passes `limit` bytes: a JSON body as a whole, an event
    stream per event (the bytes since the last blank line), so that a stream open for hours is fine
    but no one event, nor one answer, can fill the gateway's memory. The SDK reports only that the
    stream ended: `http.oversized` (when given) says why."""
    import httpx2

    class Bounded(httpx2.AsyncByteStream):
        # an iterator object, not an async generator: one fewer generator per response for the
        # garbage collector to close through the event loop
        def __init__(self, inner: Any, events: bool, request: Any) -> None:
            self.inner, self.events, self.request = inner, events, request
            self.chunks: Any = None
            self.held, self.tail = 0, b""

        def __aiter__(self) -> Any:
            self.chunks = self.inner.__aiter__()
            return self

        async def __anext__(self) -> bytes:
            chunk: bytes = await self.chunks.__anext__()
            if self.events:
                seen = self.tail + chunk
                cut = max(seen.rfind(b"\n\n"), seen.rfind(b"\r\n\r\n"))
                self.held = len(seen) - cut if cut >= 0 else self.held + len(chunk)
                self.tail = seen[-3:]
            else:
                self.held += len(chunk)
            if self.held > limit:
                e = MessageTooLarge(
                    f"{self.request.url.copy_with(query=None)} sent a message of more than {limit} bytes"
                )
                if http is not None:
                    http.oversized = str(e)
                raise e
            return chunk

        async def aclose(self) -> None:
            # The SDK closes a POST's event stream once it has the result, before the stream's last
            # chunk is read, so the connection could not go back to the pool: one TCP connect per call.
            # What little is left is read first (briefly; a long stream is just closed).
            if self.chunks is not None and self.request.method == "POST":
                with anyio.move_on_after(DRAIN_SECONDS):
                    with contextlib.suppress(Exception):
                        while True:
                            await self.__anext__()
            await self.inner.aclose()

    class Transport(httpx2.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx2.AsyncHTTPTransport()

        async def handle_async_request(self, request: Any) -> Any:
            response = await self.inner.handle_async_request(request)
            events = response.headers.get("content-type", "").lower().startswith("text/event-stream")
            response.stream = Bounded(response.stream, events, request)
            return response

        async def aclose(self) -> None:
            await self.inner.aclose()

    return httpx2.AsyncClient(transport=Transport(), **kw)


def remote_transport(server: Server, headers: dict[str, str], auth: Any, http: HttpStatus | None = None) -> Transport:
    """Streamable HTTP, or SSE when the catalog says so (remote.transport_type: sse, or sseEndpoint)."""
    url = server.remote.url or server.sse_endpoint
    sse = server.remote.transport_type == "sse" or (not server.remote.url and bool(server.sse_endpoint))

    limit = max_message_bytes()

    @contextlib.asynccontextmanager
    async def open_transport() -> AsyncIterator[Any]:
        if auth is not None:  # before the first request, which would carry the token
            await anyio.to_thread.run_sync(check_token_resource, server.name, url, getattr(auth, "refresher", None))
        if sse:
            from mcp.client.sse import sse_client

            def factory(headers: Any = None, timeout: Any = None, auth: Any = None) -> Any:
                return bounded_client(limit, http, headers=headers, timeout=timeout, auth=auth)

            async with sse_client(url, headers=headers or None, auth=auth, httpx_client_factory=factory) as streams:
                yield streams
        else:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            timeout = httpx2.Timeout(30, read=300)
            async with (
                bounded_client(
                    limit,
                    http,
                    headers=headers,
                    auth=auth,
                    timeout=timeout,
                    event_hooks={"response": [http.hook]} if http else None,
                ) as client,
                streamable_http_client(url, http_client=client) as streams,
            ):
                yield streams

    return open_transport


# --- a stored token goes only to the resource it was issued for ---


def check_token_resource(name: str, url: str, tokens: Any) -> None:
    """Refuse to connect when the token the local store holds for server `name` was issued for another
    resource than `url`: a catalog imported later may give the same name another URL, and the token (and
    the refreshed ones) would go there. Desktop's tokens (another source) are Desktop's to keep apart."""
    from ..oauth.clients import load_client
    from ..oauth.discovery import resource_covers
    from ..oauth.tokens import Refresher
    from ..output import redact_credentials

    if not isinstance(tokens, Refresher):
        return
    record = load_client(tokens.store, name)
    if record is None:
        return  # nothing stored: the first request fails with "not authorized", without a token
    if not record.resource_url:  # neither plugin writes such a record: which URL it was for is unknown
        raise BackendError(
            f"the authorization stored for {name} does not say which URL it was made for: run "
            f"'docker mcp oauth revoke {name}', then 'docker mcp oauth authorize {name}' if you trust "
            f"{redact_credentials(url)}"
        )
    if not resource_covers(record.resource_url, url):
        raise BackendError(
            f"the authorization stored for {name} was made for {redact_credentials(record.resource_url)}, "
            f"but the catalog now gives {redact_credentials(url)}: run 'docker mcp oauth authorize {name}' "
            "if you trust the new URL"
        )
