"""The gateway's front transports: stdio, SSE (`/sse`) and streamable HTTP (`/mcp`), the HTTP ones behind
a bearer token (MCP_GATEWAY_AUTH_TOKEN, or a generated one) with an unauthenticated `/health`
(go-plugin-gateway.md §5)."""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import secrets
import socket
import string
from collections.abc import AsyncIterator, Callable
from typing import Any

from ..errors import DockerMcpError

log = logging.getLogger("docker_mcp.gateway")
TOKEN_ENV = "MCP_GATEWAY_AUTH_TOKEN"
TRANSPORTS = {"stdio": "stdio", "sse": "sse", "streaming": "streaming", "streamable": "streaming",
              "http": "streaming", "streamable-http": "streaming"}  # fmt: skip


TOKEN_FILE_ENV = "MCP_GATEWAY_AUTH_TOKEN_FILE"  # a file holding the token: a Docker secret, /run/secrets/NAME


def gateway_token(allow_unauthenticated: bool, transport: str) -> str | None:
    """The bearer token HTTP clients must send: MCP_GATEWAY_AUTH_TOKEN, else the content of the file
    MCP_GATEWAY_AUTH_TOKEN_FILE names (a Docker secret; one trailing newline dropped), else a generated
    one (go-plugin-gateway.md §5); None when authentication is explicitly off. Raises DockerMcpError
    when both variables are set, or the file cannot be read or is empty (the token is never shown)."""
    from_env = os.environ.get(TOKEN_ENV, "")
    file = os.environ.get(TOKEN_FILE_ENV, "")
    if file and not allow_unauthenticated:
        if from_env:
            raise DockerMcpError(f"both {TOKEN_ENV} and {TOKEN_FILE_ENV} are set: unset one of them")
        try:
            with open(file, encoding="utf-8") as f:
                token = f.read().removesuffix("\n").removesuffix("\r")
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
            raise DockerMcpError(
                f"{TOKEN_FILE_ENV}={file}: cannot read it ({reason}): mount the Docker secret there, or unset it"
            ) from None
        if not token.strip():
            raise DockerMcpError(f"{TOKEN_FILE_ENV}={file}: the file is empty: put the token in it")
        log.warning("> Use Bearer token from %s (%s)", TOKEN_FILE_ENV, file)
        return token
    if allow_unauthenticated:
        for name in (TOKEN_ENV, TOKEN_FILE_ENV):
            if os.environ.get(name):
                log.warning("Warning: ignoring %s because --allow-unauthenticated is set", name)
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
    """ASGI middleware: `/health` and `/ready` answer without a token; everything else needs
    `Bearer <token>`.

    `/health` is liveness: 200 while the gateway serves (what the image's HEALTHCHECK asks; as the Go
    gateway's). `/ready` is readiness: 200 when every configured server is connected, else 503, with
    the JSON body `readiness()` gives ({"ready", "connected", "notConnected"}: server names)."""

    def __init__(self, app: Any, token: str | None, readiness: Callable[[], tuple[bool, dict[str, Any]]]) -> None:
        self.app, self.token, self.readiness = app, token, readiness

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/health":
            await _plain(send, 200, b"")
            return
        if scope["path"] == "/ready":
            import json

            ready, body = self.readiness()
            await _plain(send, 200 if ready else 503, json.dumps(body).encode(), content_type=b"application/json")
            return
        if self.token is not None:
            given = b""
            for name, value in scope.get("headers") or ():  # ASGI header names are lower-case
                if name == b"authorization":
                    given = value  # the last one, as a dict of them would keep
            expected = b"Bearer " + self.token.encode()
            if not hmac.compare_digest(given, expected):
                await _plain(send, 401, b"Unauthorized", [(b"www-authenticate", b'Bearer realm="MCP Gateway"')])
                return
        await self.app(scope, receive, send)


async def _plain(
    send: Any,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    content_type: bytes = b"text/plain",
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
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
        found: dict[bytes, bytes] = {}
        for name, value in scope.get("headers") or ():  # ASGI header names are lower-case; the first wins
            if name in (b"host", b"origin") and name not in found:
                found[name] = value
        host = found.get(b"host", b"").decode("latin-1")
        origin = found.get(b"origin", b"").decode("latin-1")
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


def http_app(server: Any, transport: str, host: str, stateless: bool = False) -> Any:
    """The ASGI app of one HTTP transport, over the SDK's transports; behind a RebindingGuard when
    listening on loopback. `stateless` (streamable HTTP only): the SDK's stateless mode, a fresh
    transport for each request and no Mcp-Session-Id, so that any replica can answer any request."""
    security = transport_security(host)
    app = _transport_app(server, transport, host, security, stateless)
    return app if security is None else RebindingGuard(app, security)


def _transport_app(server: Any, transport: str, host: str, security: Any, stateless: bool) -> Any:
    if transport == "streaming":
        from .streamable import streamable_app

        # a request's answer is JSON when its result comes first, a stream (SSE) on the POST when the
        # server's progress, log messages or requests come before it (streamable.py)
        return streamable_app(server, "/mcp", security, session_idle_timeout(), MAX_SESSIONS, stateless)
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


STOP_GRACE = 5.0  # seconds the requests in flight get after SIGTERM, SIGHUP or the docker CLI's hangup
STOP_BACKSTOP = 3.0  # seconds after the grace before whatever still runs is cancelled
FORCE_EXIT_AFTER = 3  # the third stop request exits at once, as the docker CLI itself does after three
LOOP_PROBLEM_INTERVAL = 60.0  # seconds between two reports of the same event-loop problem
DESCRIPTOR_CHECK = 1.0  # seconds between two counts of the gateway's open file descriptors (HTTP fronts)
NO_DESCRIPTORS = "! Cannot accept connections: %s; new ones %s until some close (said at most once a minute)"


class ListenError(DockerMcpError):
    """An HTTP front cannot listen where it was asked to: the port is taken, the host is not this
    machine's or does not resolve."""


class Shutdown:
    """How the gateway is asked to stop, and how what it serves stops.

    SIGINT (Ctrl-C) stops at once, exit code 130. SIGTERM, SIGHUP and the docker CLI closing
    DOCKER_CLI_PLUGIN_SOCKET (what it does on SIGTERM) stop gracefully, exit code 0: an HTTP front stops
    listening and gives the requests in flight up to STOP_GRACE seconds, then ends its streams (the SSE
    front's answers travel on the client's stream: there, nothing is waited for); the stdio front stops
    at once (its client is the one leaving). Before a front serves, a request cancels the start. A
    second request stops at once; the third exits without clean-up, should a clean-up hang.
    `request` runs on the event loop (signal handlers, loop.call_soon_threadsafe)."""

    def __init__(self, cancel_all: Callable[[], None]) -> None:
        self.cancel_all = cancel_all  # cancels everything the gateway runs: its task group
        self.front: Callable[[float], None] | None = None  # while a front serves: stop within `grace` s
        self.exit_code = 0
        self.requests = 0

    def request(self, cause: str, graceful: bool = True, exit_code: int = 0) -> None:
        """Stop, because of `cause` ("SIGTERM received"): gracefully or at once."""
        import asyncio

        self.requests += 1
        if self.requests >= FORCE_EXIT_AFTER:
            log.warning("! Exiting now, without clean-up: %s, a third request to stop", cause)
            os._exit(self.exit_code or 1)
        if self.requests == 1:
            self.exit_code = exit_code
            log.warning("> Stopping: %s", cause)
        else:
            log.warning("> Stopping at once: %s", cause)
        grace = STOP_GRACE if graceful and self.requests == 1 else 0.0
        if self.front is None:
            self.cancel_all()
            return
        self.front(grace)
        asyncio.get_running_loop().call_later(grace + STOP_BACKSTOP, self.cancel_all)


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket listening on host:port (host "" or 0.0.0.0: every IPv4 interface), made before the
    front is announced so that a port in use or a wrong --host is one ListenError saying what to do."""
    import errno

    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        found = socket.getaddrinfo(
            host.strip("[]") or "0.0.0.0", port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (OSError, UnicodeError):  # socket.gaierror is an OSError
        raise ListenError(
            f"cannot listen on {shown}: {host!r} is not an address this machine can resolve; "
            "use --host with one of its addresses (127.0.0.1, or 0.0.0.0 for every interface)"
        ) from None
    family, kind, proto, _, address = sorted(found, key=lambda info: info[0] != socket.AF_INET)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait for TIME_WAIT
        sock.bind(address)
        sock.listen(2048)  # uvicorn's backlog; clients may connect while the front starts
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            why = "the port is already in use; stop what listens there (another gateway?) or choose another --port"
        elif e.errno == errno.EADDRNOTAVAIL:
            why = f"{host} is not an address of this machine; use --host 127.0.0.1, or 0.0.0.0 for every interface"
        elif e.errno == errno.EACCES:
            why = "permission denied (ports below 1024 need privileges); choose a --port above 1023"
        else:
            why = e.strerror or str(e)
        raise ListenError(f"cannot listen on {shown}: {why}") from None
    return sock


class _Requests:
    """ASGI middleware that knows the requests being answered, so that a stop can let them finish and
    then end them cleanly: a stream gets its last (empty) chunk, an unanswered request 503. (uvicorn's
    own timeout_graceful_shutdown cancels the tasks, and logs a traceback for each.)"""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.answering = 0  # requests in flight, but GETs: those are streams waiting for messages
        self._scopes: set[Any] = set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        import anyio

        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = {"started": False, "complete": False}

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                state["complete"] = True
            await send(message)

        counted = scope.get("method") != "GET"
        with anyio.CancelScope() as request:
            self._scopes.add(request)
            self.answering += counted
            try:
                await self.app(scope, receive, sending)
            finally:
                self.answering -= counted
                self._scopes.discard(request)
        if request.cancelled_caught:
            if not state["started"]:
                await _plain(send, 503, b"The gateway is stopping")
            elif not state["complete"]:
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    def end_all(self) -> None:
        for request in list(self._scopes):
            request.cancel()


class _LoopProblems:
    """The event loop's exception handler once an HTTP front serves. asyncio reports an accept() that
    fails for want of file descriptors (EMFILE) or memory with a traceback, once per connection waiting,
    every second for as long as that lasts: measured, 15 MB of stderr in 7 s. Here each problem is said
    at most once a minute, in one line (with --verbose, as asyncio says it)."""

    def __init__(self) -> None:
        self._said: dict[tuple[str, str], float] = {}

    def once(self, key: tuple[str, str]) -> bool:
        """True when the problem `key` was not said in the last LOOP_PROBLEM_INTERVAL seconds (it is now)."""
        import time

        now = time.monotonic()
        if now - self._said.get(key, -LOOP_PROBLEM_INTERVAL) < LOOP_PROBLEM_INTERVAL:
            return False
        self._said[key] = now
        return True

    def __call__(self, loop: Any, context: dict[str, Any]) -> None:
        message = str(context.get("message") or "event loop error")
        exc = context.get("exception")
        if "_start_serving" in message and isinstance(exc, (ValueError, OSError)):
            return  # asyncio's accept retry, due a second after EMFILE, finding the listener closed by a stop
        if message.startswith("socket.accept() out of system resource"):
            if self.once(("accept", f"{getattr(exc, 'errno', '')}")):
                log.warning(NO_DESCRIPTORS, getattr(exc, "strerror", None) or str(exc), "wait")
        elif not self.once((message, f"{type(exc).__name__}:{getattr(exc, 'errno', '')}")):
            return
        elif log.isEnabledFor(logging.INFO):  # --verbose: asyncio's report, traceback included
            loop.default_exception_handler(context)
        else:
            log.warning("! %s: %s (said at most once a minute)", message, f"{type(exc).__name__}: {exc}" if exc else "")


async def _watch_descriptors(problems: _LoopProblems) -> None:
    """Say, as _LoopProblems says asyncio's report, when the gateway has no file descriptor left for a
    connection. uvloop (the gateway's loop) meets an accept() that fails with EMFILE by accepting the
    waiting connections and closing them at once, and reports nothing (libuv's "EMFILE trick",
    src/unix/stream.c, uv__emfile_trick); so every DESCRIPTOR_CHECK seconds the open descriptors
    (/proc/self/fd, /dev/fd on macOS) are counted against RLIMIT_NOFILE's soft limit: all in use, or none
    left to list them with, is the problem. Runs until cancelled."""
    import asyncio
    import errno

    import anyio

    try:
        import resource
    except ImportError:  # Windows: no RLIMIT_NOFILE to count against
        return

    listing = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    # asyncio's own loop leaves waiting connections queued, and retries accept() every second
    turned_away = "are closed at once" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "wait"
    while True:
        await anyio.sleep(DESCRIPTOR_CHECK)
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            continue
        try:
            full = len(os.listdir(listing)) >= soft  # the listing's own descriptor among them
        except OSError as e:
            full = e.errno in (errno.EMFILE, errno.ENFILE)
        if full and problems.once(("accept", str(errno.EMFILE))):
            log.warning(NO_DESCRIPTORS, os.strerror(errno.EMFILE), turned_away)


async def serve_http(app: Any, sock: socket.socket, stop: Shutdown) -> None:
    """Serve `app` with uvicorn on the listening `sock` until `stop` says so. A stop is uvicorn's graceful
    shutdown (stop listening, close idle connections) with Shutdown's grace (STOP_GRACE seconds after
    SIGTERM, none after Ctrl-C): the requests in flight may finish until it is over, then every request
    still open, the streams included, is ended. The signals are Shutdown's: uvicorn's own handlers, which
    would re-raise SIGTERM after the shutdown and so skip the gateway's clean-up, are left out."""
    import asyncio
    from collections.abc import Iterator

    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    requests = _Requests(app)
    # uvicorn's timeout is the backstop: _Requests ends what is open when the grace is over
    # no proxy headers: the gateway trusts no X-Forwarded-* (and skips uvicorn's middleware for them); no
    # access log: the gateway logs the calls it routes (--log-calls)
    config = uvicorn.Config(
        requests,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=round(STOP_GRACE + STOP_BACKSTOP / 2),
        proxy_headers=False,
        access_log=False,
    )
    server = Server(config)
    loop = asyncio.get_running_loop()
    deadline: list[float] = []
    draining: list[asyncio.Task[None]] = []

    async def drain() -> None:
        if requests.answering and deadline[0] > loop.time():
            log.warning(
                "> Waiting up to %.0f s for %d request(s) in flight", deadline[0] - loop.time(), requests.answering
            )
        while requests.answering and loop.time() < deadline[0]:
            await asyncio.sleep(0.05)
        if requests.answering:
            log.warning("! Stopped %d request(s) still in flight", requests.answering)
        requests.end_all()

    def stop_front(grace: float) -> None:
        if deadline:  # already stopping: a shorter grace wins
            deadline[0] = min(deadline[0], loop.time() + grace)
            return
        deadline.append(loop.time() + grace)
        server.should_exit = True
        draining.append(loop.create_task(drain()))

    problems = _LoopProblems()
    loop.set_exception_handler(problems)  # for the rest of the run: asyncio's retries outlive serve()
    watching = loop.create_task(_watch_descriptors(problems))
    stop.front = stop_front
    try:
        await server.serve(sockets=[sock])
    finally:
        stop.front = None
        watching.cancel()
        for task in draining:
            task.cancel()
        sock.close()


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


class _ThreadLines:
    """Lines of stdin when it is not a pipe (a terminal, a file), read by a daemon thread with os.read:
    nothing waits for that thread when the gateway stops. (The SDK reads it in a worker thread the
    process waits for: a Ctrl-C'd gateway on a terminal lived on until Enter was pressed.)"""

    AHEAD = 16  # lines read before the gateway takes them

    def __init__(self, fd: int, loop: Any) -> None:
        import asyncio
        import threading

        self._loop = loop
        self._lines: asyncio.Queue[bytes] = asyncio.Queue()
        self._room = threading.Semaphore(self.AHEAD)
        self._eof = False
        threading.Thread(target=self._read, args=(fd,), name="docker-mcp-stdin", daemon=True).start()

    def _read(self, fd: int) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if chunk:
                *complete, pending = (pending + chunk).split(b"\n")
                lines = [line + b"\n" for line in complete]
            else:
                lines = [pending, b""] if pending else [b""]  # b"": the end of the input
            for line in lines:
                self._room.acquire()
                try:
                    self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
                except RuntimeError:  # the event loop is closed: the gateway is done
                    return
            if not chunk:
                return

    def __aiter__(self) -> _ThreadLines:
        return self

    async def __anext__(self) -> str:
        if self._eof:
            raise StopAsyncIteration
        line = await self._lines.get()
        self._room.release()
        if not line:
            self._eof = True
            raise StopAsyncIteration
        return line.decode("utf-8", errors="replace")


@contextlib.asynccontextmanager
async def stdio_pipes() -> AsyncIterator[tuple[Any, Any]]:
    """stdin and stdout for the SDK's stdio_server, served by the event loop when both are pipes or
    sockets (what MCP clients give). Otherwise (a terminal, a file) stdin is read by a daemon thread
    (_ThreadLines), so that Ctrl-C stops the gateway at once, and stdout is left to the SDK (None): made
    non-blocking, a stdout that stderr shares (`2>&1 | less`) would fail the log's writes. The pipes'
    non-blocking mode is put back on exit."""
    import asyncio
    import fcntl

    loop = asyncio.get_running_loop()
    if not (_is_pipe(0) and _is_pipe(1)):
        yield _ThreadLines(0, loop), None
        return
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
