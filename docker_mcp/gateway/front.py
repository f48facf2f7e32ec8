"""The gateway's front transports: stdio, SSE (`/sse`) and streamable HTTP (`/mcp`), the HTTP ones behind
a bearer token (MCP_GATEWAY_AUTH_TOKEN, or a generated one) with an unauthenticated `/health`
(go-plugin-gateway.md §5)."""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import secrets
import string
from collections.abc import AsyncIterator
from typing import Any

log = logging.getLogger("docker_mcp.gateway")
TOKEN_ENV = "MCP_GATEWAY_AUTH_TOKEN"
TRANSPORTS = {"stdio": "stdio", "sse": "sse", "streaming": "streaming", "streamable": "streaming",
              "http": "streaming", "streamable-http": "streaming"}  # fmt: skip


def gateway_token(allow_unauthenticated: bool, transport: str) -> str | None:
    """The bearer token HTTP clients must send; None when authentication is explicitly off."""
    from_env = os.environ.get(TOKEN_ENV, "")
    if allow_unauthenticated:
        if from_env:
            log.warning("Warning: ignoring %s because --allow-unauthenticated is set", TOKEN_ENV)
        log.warning("> Authentication disabled by explicit configuration")
        return None
    if from_env:
        log.warning("> Use Bearer token from %s environment variable", TOKEN_ENV)
        return from_env
    alphabet = string.ascii_lowercase + string.digits
    token = "".join(secrets.choice(alphabet) for _ in range(50))
    log.warning("> Use Bearer token: Authorization: Bearer %s", token)  # the client's credential for this run
    return token


class BearerGate:
    """ASGI middleware: `/health` answers without a token; everything else needs `Bearer <token>`."""

    def __init__(self, app: Any, token: str | None, ready: Any) -> None:
        self.app, self.token, self.ready = app, token, ready

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/health":
            await _plain(send, 200 if self.ready() else 503, b"")
            return
        if self.token is not None:
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            expected = b"Bearer " + self.token.encode()
            if not hmac.compare_digest(given, expected):
                await _plain(send, 401, b"Unauthorized", [(b"www-authenticate", b'Bearer realm="MCP Gateway"')])
                return
        await self.app(scope, receive, send)


async def _plain(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def transport_security(host: str) -> Any:
    """DNS-rebinding protection when listening on loopback: a browser page from another origin may not
    reach the gateway (Host and Origin must be loopback ones). Both HTTP fronts use it."""
    from mcp.server.transport_security import TransportSecuritySettings

    if host not in ("127.0.0.1", "localhost", "::1"):
        return None  # e.g. 0.0.0.0 in a container: the bearer token is the protection
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )


class RebindingGuard:
    """ASGI middleware: a request whose Host is not an allowed one is refused with 421, one whose Origin
    (when sent) is not with 403 — the SDK transports' own rule and answers (mcp.server.transport_security),
    checked before them so that a refusal is one log line naming what was refused: the SDK logs its own
    warning, and its SSE transport raises after answering, which uvicorn logs as a traceback."""

    def __init__(self, app: Any, security: Any) -> None:
        self.app = app
        self.hosts: list[str] = list(security.allowed_hosts)
        self.origins: list[str] = list(security.allowed_origins)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in reversed(scope.get("headers") or [])}  # the first wins
        host = headers.get(b"host", b"").decode("latin-1")
        origin = headers.get(b"origin", b"").decode("latin-1")
        if not _allowed(host, self.hosts):
            await self._refuse(scope, send, 421, "Host", host)
        elif origin and not _allowed(origin, self.origins):
            await self._refuse(scope, send, 403, "Origin", origin)
        else:
            await self.app(scope, receive, send)

    async def _refuse(self, scope: Any, send: Any, status: int, header: str, value: str) -> None:
        shown = repr(value[:80] + ("…" if len(value) > 80 else "")) if value else "missing"
        log.warning(
            "! Refused %s %s: %s header %s is not a loopback one (%d, DNS-rebinding protection)",
            scope.get("method", "?"),
            scope.get("path", "?")[:80],
            header,
            shown,
            status,
        )
        await _plain(send, status, f"Invalid {header} header".encode())


def _allowed(value: str, patterns: list[str]) -> bool:
    """`value` equals a pattern, or a `…:*` pattern with any port (the SDK's matching)."""
    return any(value == p or (p.endswith(":*") and value.startswith(p[:-2] + ":")) for p in patterns)


SESSION_IDLE_ENV = "DOCKER_MCP_SESSION_IDLE_TIMEOUT"
MAX_SESSIONS = 10_000  # streamable HTTP client sessions open at once; one more is answered 503


def session_idle_timeout() -> float:
    """Seconds a streamable HTTP client session may go without a request in flight or an open GET
    stream before the gateway ends it (and closes its own server connections): DOCKER_MCP_SESSION_IDLE_TIMEOUT,
    default 300; a value that is not a number in [1, 86400] warns and uses the default. A client whose
    session ended gets 404 and initializes anew (MCP spec basic/transports, session management)."""
    raw = os.environ.get(SESSION_IDLE_ENV, "")
    if not raw:
        return 300.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 1 <= value <= 86400:
        log.warning("! %s=%r is not a number of seconds in [1, 86400]: using 300", SESSION_IDLE_ENV, raw[:40])
        return 300.0
    return value


def http_app(server: Any, transport: str, host: str) -> Any:
    """The ASGI app of one HTTP transport, over the SDK's transports; behind a RebindingGuard when
    listening on loopback."""
    security = transport_security(host)
    app = _transport_app(server, transport, host, security)
    return app if security is None else RebindingGuard(app, security)


def _transport_app(server: Any, transport: str, host: str, security: Any) -> Any:
    if transport == "streaming":
        # answers stream (SSE) on the POST, so that a server's progress, log messages and requests reach the client while it works
        return server.streamable_http_app(
            streamable_http_path="/mcp",
            host=host,
            json_response=False,
            transport_security=security,
            session_idle_timeout=session_idle_timeout(),
            max_sessions=MAX_SESSIONS,
        )
    from mcp.server.sse import SseServerTransport
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Mount, Route

    sse = SseServerTransport("/messages/", security_settings=security)

    async def handle_sse(request: Any) -> Response:
        async with sse.connect_sse(request.scope, request.receive, request._send) as streams:
            await server.run(streams[0], streams[1], server.create_initialization_options())
        return Response()

    return Starlette(
        routes=[Route("/sse", handle_sse, methods=["GET"]), Mount("/messages/", app=sse.handle_post_message)]
    )


async def serve_http(app: Any, host: str, port: int, stop: list[Any]) -> None:
    """Serve until a signal or `stop[0]()`: uvicorn's own graceful shutdown, not a cancellation."""
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)

    def shut_down() -> None:
        server.should_exit = True

    stop[0] = shut_down
    await server.serve()


class _Lines:
    """Lines of a pipe, read by the event loop: the SDK's stdio server reads and writes through a worker
    thread per line (anyio.wrap_file), three thread hops per call that the gateway's latency shows."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader

    def __aiter__(self) -> _Lines:
        return self

    async def __anext__(self) -> str:
        line: bytes = await self._reader.readline()
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", errors="replace")


class _Writer:
    def __init__(self, writer: Any) -> None:
        self._writer = writer

    async def write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._writer.drain()


def _is_pipe(fd: int) -> bool:
    import stat

    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


@contextlib.asynccontextmanager
async def stdio_pipes() -> AsyncIterator[tuple[Any, Any]]:
    """stdin and stdout for the SDK's stdio_server, served by the event loop when both are pipes or
    sockets (what MCP clients give); (None, None) otherwise (a terminal, a file), and the SDK's own
    thread-backed streams serve. The pipes' non-blocking mode is put back on exit."""
    import asyncio
    import fcntl

    if not (_is_pipe(0) and _is_pipe(1)):
        yield None, None
        return
    loop = asyncio.get_running_loop()
    flags = {fd: fcntl.fcntl(fd, fcntl.F_GETFL) for fd in (0, 1)}
    reader = asyncio.StreamReader(limit=2**26, loop=loop)  # a line is a whole JSON-RPC message
    read_transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader, loop=loop), os.fdopen(os.dup(0), "rb", 0)
    )
    write_transport, protocol = await loop.connect_write_pipe(
        lambda: asyncio.streams.FlowControlMixin(loop=loop), os.fdopen(os.dup(1), "wb", 0)
    )
    writer = asyncio.StreamWriter(write_transport, protocol, None, loop)
    try:
        yield _Lines(reader), _Writer(writer)
    finally:
        read_transport.close()
        write_transport.close()
        for fd, flag in flags.items():
            with contextlib.suppress(OSError):
                fcntl.fcntl(fd, fcntl.F_SETFL, flag)
