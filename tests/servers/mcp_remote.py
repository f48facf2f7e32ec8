"""A remote MCP server for the tests: the MCP Python SDK's own server (``MCPServer``, mcp 2.x), optionally
protected by the SDK's OAuth resource-server support, run with uvicorn on 127.0.0.1 in a background thread.

    server = RemoteMcpServer(auth="oidc")           # binds its port now: server.url / .resource are known
    with start_oidc(tmp_path, {"resource": server.resource, "clients": [app, resource_server_client()]}) as oidc:
        server.issuer = oidc.issuer
        server.introspection_client = resource_server_client()
        with server:
            ...  # streamable HTTP at server.url (http://127.0.0.1:PORT/mcp)

The port is reserved when the object is made, so the authorization server can be configured with
``server.resource`` before the MCP server starts (the two depend on each other); ``issuer`` and
``introspection_client`` may be given to the constructor or set any time before ``start()``.

What it serves:

- tools ``{prefix}_whoami`` (the token's ``sub``, ``client_id``, scopes and audience as introspected; all
  empty without auth), ``{prefix}_echo(text)``, ``{prefix}_add(a, b)``; the prompt ``{prefix}_greeting(name)``;
  the resource ``{prefix}://info``.
- transport ``"streamable-http"``: the MCP endpoint ``/mcp``; ``"sse"``: ``GET /sse`` and ``POST /messages/``.
- auth ``"oidc"``: the SDK's ``AuthSettings`` with ``resource_server_url`` = the MCP URL. The SDK then serves
  RFC 9728 metadata at ``/.well-known/oauth-protected-resource/mcp`` (``resource``, ``authorization_servers``
  = [issuer], ``scopes_supported`` = required_scopes, ``bearer_methods_supported`` = ["header"]) and answers a
  request without a valid token with 401 and ``WWW-Authenticate: Bearer error="invalid_token",
  error_description="Authentication required", resource_metadata="…"``; a valid token lacking a required
  scope gets 403 ``error="insufficient_scope"``. The token verifier here introspects every token (RFC 7662,
  no cache, so revocation and expiry count at once) at the authorization server's ``introspection_endpoint``
  (from its RFC 8414 metadata), authenticating as ``introspection_client`` (``client_secret_basic`` unless
  the client says ``client_secret_post``), and accepts only ``active`` tokens of type Bearer whose ``aud`` is
  this server's resource (and ``iss`` the issuer, when present). ``validate_token_resource=True`` makes the
  SDK check the audience once more.
- faults: ``"500"``: every POST to the MCP endpoint (``/mcp``, or ``/messages/`` for SSE) answers HTTP 500,
  before authentication; ``"slow-tool"``: the echo tool sleeps SLOW_TOOL_SECONDS first.

SDK 2.x facts this relies on (mcp 2.3):

- Plain http on 127.0.0.1 needs no flag: ``AuthSettings.issuer_url`` is an ``AnyHttpUrl`` (http allowed) with
  ``url_preserve_empty_path``, so ``http://127.0.0.1:PORT`` keeps no trailing slash in the RFC 9728 document;
  the https-only check (``validate_issuer_url``, which spares localhost/127.0.0.1/[::1]) applies only when the
  SDK is itself the authorization server (``auth_server_provider``), not to a resource server.
- ``AuthSettings.validate_token_resource`` must be set (True or False) when ``resource_server_url`` is, or the
  SDK warns (MCPDeprecationWarning: it becomes True by default in 3.0).
- ``streamable_http_app()`` needs the ASGI lifespan (it runs the session manager), so uvicorn runs with
  ``lifespan="on"``. Host "127.0.0.1" turns on DNS-rebinding protection: Host must be 127.0.0.1:*,
  localhost:* or [::1]:*.
- Inside a tool, ``mcp.server.auth.middleware.auth_context.get_access_token()`` gives the ``AccessToken`` the
  verifier returned (contextvars reach the handlers).

stop() ends open requests (SSE streams, a slow tool call) as if their clients had left, then sets uvicorn's
should_exit and joins the thread (about 0.2 s); start() again serves on the same port.

Every HTTP request is recorded in ``requests`` (method, path, parameter names, auth scheme, status, the
OAuth error code of an error answer), never a value; ``rpc_methods`` lists the JSON-RPC method names
received (protocol vocabulary such as "tools/call", no arguments). Accepted tokens are remembered only as
sha256 prefixes (``tokens_seen`` counts them).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterable
from typing import Any, Literal
from urllib.parse import quote

import anyio
import httpx2
import requests
import uvicorn
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.servers.recording import RecordingMiddleware, RequestLog

SLOW_TOOL_SECONDS = 5.0
FAULTS = (None, "500", "slow-tool")
TRANSPORTS = ("streamable-http", "sse")
INTROSPECTION_TIMEOUT = 10.0
# the most uvicorn waits for open connections on stop (they are normally told to end at once: _DisconnectOnStop)
GRACEFUL_SHUTDOWN = 2


def fingerprint(token: str) -> str:
    """What the server keeps of a token: the first 16 hex digits of its sha256."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def discover_introspection_endpoint(issuer: str) -> str:
    """The introspection_endpoint from the issuer's RFC 8414 metadata (OpenID discovery as a fallback)."""
    errors: list[str] = []
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        try:
            response = requests.get(issuer.rstrip("/") + path, timeout=10)
        except requests.RequestException as exc:
            errors.append(f"{path}: {exc}")
            continue
        if response.status_code == 200:
            endpoint = response.json().get("introspection_endpoint")
            if isinstance(endpoint, str) and endpoint:
                return endpoint
            errors.append(f"{path}: no introspection_endpoint")
        else:
            errors.append(f"{path}: HTTP {response.status_code}")
    raise RuntimeError(f"no introspection endpoint at {issuer}: {'; '.join(errors)}")


class IntrospectionTokenVerifier:
    """An SDK ``TokenVerifier`` that asks the authorization server (RFC 7662) about every token."""

    def __init__(
        self,
        *,
        introspection_endpoint: str,
        client: dict[str, Any],
        resource: str,
        issuer: str,
        required_scopes: Iterable[str],
        on_accept: Any = None,
    ) -> None:
        self.introspection_endpoint = introspection_endpoint
        self.client = client
        self.resource = resource
        self.issuer = issuer
        self.required_scopes = tuple(required_scopes)
        self.on_accept = on_accept
        self.introspections = 0

    def _request_parts(self, token: str) -> tuple[dict[str, str], dict[str, str]]:
        data = {"token": token, "token_type_hint": "access_token"}
        headers: dict[str, str] = {}
        method = self.client.get("token_endpoint_auth_method", "client_secret_basic")
        if method == "client_secret_basic":
            # RFC 6749 §2.3.1: form-urlencode id and secret before base64
            raw = f"{quote(self.client['client_id'], safe='')}:{quote(self.client['client_secret'], safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(raw.encode()).decode()
        elif method == "client_secret_post":
            data.update(client_id=self.client["client_id"], client_secret=self.client["client_secret"])
        else:
            raise ValueError(f"the introspection client needs a secret, not {method!r}")
        return data, headers

    async def verify_token(self, token: str) -> AccessToken | None:
        data, headers = self._request_parts(token)
        self.introspections += 1
        try:
            async with httpx2.AsyncClient(timeout=INTROSPECTION_TIMEOUT) as http:
                response = await http.post(self.introspection_endpoint, data=data, headers=headers)
        except httpx2.HTTPError:
            return None
        if response.status_code != 200:
            return None
        try:
            info = response.json()
        except ValueError:
            return None
        if not isinstance(info, dict) or info.get("active") is not True:
            return None
        token_type = info.get("token_type")
        if token_type is not None and str(token_type).lower() != "bearer":
            return None
        if info.get("iss") is not None and str(info["iss"]).rstrip("/") != self.issuer.rstrip("/"):
            return None
        audiences = info.get("aud")
        audiences = [audiences] if isinstance(audiences, str) else list(audiences or [])
        if not any(str(aud).rstrip("/") == self.resource.rstrip("/") for aud in audiences):
            return None
        scopes = str(info.get("scope") or "").split()
        exp = info.get("exp")
        if isinstance(exp, int | float) and exp < time.time():
            return None
        if self.on_accept is not None and all(scope in scopes for scope in self.required_scopes):
            self.on_accept(token)
        return AccessToken(
            token=token,
            client_id=str(info.get("client_id") or ""),
            scopes=scopes,
            expires_at=int(exp) if isinstance(exp, int | float) else None,
            resource=self.resource,
            subject=str(info["sub"]) if info.get("sub") is not None else None,
            claims={k: info[k] for k in ("iss", "aud", "iat", "exp") if k in info},
        )


class RemoteMcpServer:
    """One SDK MCP server on 127.0.0.1. Start with start() (or `with`), stop with stop()."""

    def __init__(
        self,
        *,
        auth: Literal["oidc"] | None,
        issuer: str | None = None,
        introspection_client: dict[str, Any] | None = None,
        transport: Literal["streamable-http", "sse"] = "streamable-http",
        required_scopes: Iterable[str] = ("mcp:tools",),
        fault: str | None = None,
        tool_prefix: str = "remote",
    ) -> None:
        if auth not in (None, "oidc"):
            raise ValueError(f"auth must be 'oidc' or None, not {auth!r}")
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}, not {transport!r}")
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}, not {fault!r}")
        self.auth = auth
        self.issuer = issuer
        self.introspection_client = introspection_client
        self.transport = transport
        self.required_scopes = tuple(required_scopes)
        self.fault = fault
        self.tool_prefix = tool_prefix
        self.requests = RequestLog()
        self.verifier: IntrospectionTokenVerifier | None = None
        self._lock = threading.Lock()
        self._fingerprints: set[str] = set()
        self._rpc_methods: list[str] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._closer: _DisconnectOnStop | None = None
        self._sock: socket.socket | None = self._bind(0)
        self.port: int = self._sock.getsockname()[1]

    # --- addresses ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def path(self) -> str:
        """The MCP endpoint's path: /mcp (streamable HTTP) or /sse (the SSE stream)."""
        return "/mcp" if self.transport == "streamable-http" else "/sse"

    @property
    def message_path(self) -> str:
        """Where clients POST: the MCP endpoint itself, or /messages/ for SSE."""
        return self.path if self.transport == "streamable-http" else "/messages/"

    @property
    def url(self) -> str:
        return self.base_url + self.path

    @property
    def resource(self) -> str:
        """The RFC 8707 resource indicator and the RFC 9728 `resource`: the MCP URL."""
        return self.url

    @property
    def resource_metadata_url(self) -> str:
        """RFC 9728 §3.1: /.well-known/oauth-protected-resource followed by the resource's path."""
        return f"{self.base_url}/.well-known/oauth-protected-resource{self.path}"

    # --- what it saw ----------------------------------------------------------------------------

    @property
    def tokens_seen(self) -> int:
        """How many distinct bearer tokens passed introspection (active, audience, required scopes)."""
        with self._lock:
            return len(self._fingerprints)

    @property
    def token_fingerprints(self) -> set[str]:
        with self._lock:
            return set(self._fingerprints)

    @property
    def rpc_methods(self) -> list[str]:
        """The JSON-RPC method names received, in order (initialize, tools/list, tools/call, ...)."""
        with self._lock:
            return list(self._rpc_methods)

    def _accept(self, token: str) -> None:
        with self._lock:
            self._fingerprints.add(fingerprint(token))

    def _rpc(self, method: str) -> None:
        with self._lock:
            self._rpc_methods.append(method)

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @staticmethod
    def _bind(port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        return sock

    def start(self, timeout: float = 10.0) -> RemoteMcpServer:
        """Serve (again, on the same port, after a stop())."""
        if self.running:
            return self
        if self._sock is None:
            self._sock = self._bind(self.port)
        sock, self._sock = self._sock, None
        self._closer = _DisconnectOnStop(
            RecordingMiddleware(_FaultMiddleware(self._build_app(), self), self.requests, self._rpc)
        )
        app = self._closer
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", access_log=False, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"mcp-remote-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise RuntimeError(f"the remote MCP server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """should_exit, then join the thread; idempotent. start() may follow, on the same port."""
        if self._closer is not None:
            self._closer.close()
            self._closer = None
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError("the remote MCP server did not stop")
        self._server = None
        self._thread = None
        if self._sock is not None:  # reserved but never served
            self._sock.close()
            self._sock = None

    def __enter__(self) -> RemoteMcpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the app --------------------------------------------------------------------------------

    def _build_app(self) -> ASGIApp:
        settings: AuthSettings | None = None
        self.verifier = None
        if self.auth == "oidc":
            if not self.issuer or not self.introspection_client:
                raise RuntimeError("auth='oidc' needs issuer and introspection_client before start()")
            settings = AuthSettings(
                issuer_url=self.issuer,  # type: ignore[arg-type]  # pydantic parses the string
                resource_server_url=self.resource,  # type: ignore[arg-type]
                required_scopes=list(self.required_scopes),
                validate_token_resource=True,
            )
            self.verifier = IntrospectionTokenVerifier(
                introspection_endpoint=discover_introspection_endpoint(self.issuer),
                client=self.introspection_client,
                resource=self.resource,
                issuer=self.issuer,
                required_scopes=self.required_scopes,
                on_accept=self._accept,
            )
        server: MCPServer[Any] = MCPServer(
            name=f"{self.tool_prefix}-mcp",
            version="1.0.0",
            instructions="A remote MCP server for docker-mcp's tests.",
            token_verifier=self.verifier,
            auth=settings,
            log_level="WARNING",
        )
        self._register(server)
        if self.transport == "sse":
            return server.sse_app(sse_path=self.path, message_path=self.message_path, host="127.0.0.1")
        return server.streamable_http_app(streamable_http_path=self.path, host="127.0.0.1")

    def _register(self, server: MCPServer[Any]) -> None:
        prefix = self.tool_prefix
        slow = self.fault == "slow-tool"
        info = {"name": f"{prefix}-mcp", "transport": self.transport, "auth": self.auth}

        @server.tool(name=f"{prefix}_whoami", description="Who the bearer token says the caller is.")
        def whoami() -> dict[str, Any]:
            token = get_access_token()
            if token is None:
                return {"sub": None, "client_id": None, "scopes": [], "aud": None}
            return {"sub": token.subject, "client_id": token.client_id, "scopes": token.scopes, "aud": token.resource}

        @server.tool(name=f"{prefix}_echo", description="Echo the text back.")
        async def echo(text: str) -> str:
            if slow:
                await anyio.sleep(SLOW_TOOL_SECONDS)
            return text

        @server.tool(name=f"{prefix}_add", description="Add two integers.")
        def add(a: int, b: int) -> int:
            return a + b

        @server.prompt(name=f"{prefix}_greeting", description="A greeting for someone.")
        def greeting(name: str) -> str:
            return f"Hello, {name}!"

        @server.resource(f"{prefix}://info", name=f"{prefix}_info", mime_type="application/json")
        def server_info() -> str:
            return json.dumps(info)


class _DisconnectOnStop:
    """On stop, tells every open request (an SSE stream, a tool call in progress) that its client went
    away (``http.disconnect``): the SDK's streams (sse-starlette) end at once, where uvicorn alone would wait
    GRACEFUL_SHUTDOWN for them. (sse-starlette's own shutdown detection looks for uvicorn's SIGTERM handler,
    which a server in a thread does not install.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Event | None = None

    def close(self) -> None:
        """Called from any thread."""
        loop, closing = self._loop, self._closing
        if loop is not None and closing is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
                loop.call_soon_threadsafe(closing.set)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._closing is None:
            self._loop = asyncio.get_running_loop()
            self._closing = asyncio.Event()
        closing = self._closing
        started = finished = disconnected = False

        async def receive_or_disconnect() -> Message:
            nonlocal disconnected
            if not closing.is_set():
                received = asyncio.ensure_future(receive())
                closed = asyncio.ensure_future(closing.wait())
                done, _ = await asyncio.wait({received, closed}, return_when=asyncio.FIRST_COMPLETED)
                if received in done:
                    closed.cancel()
                    return received.result()
                received.cancel()
            disconnected = True
            return {"type": "http.disconnect"}

        async def send_unless_gone(message: Message) -> None:
            # after a disconnect, what the app still sends goes nowhere, as with a client that really left
            nonlocal started, finished
            if disconnected and (finished or (started and message["type"] == "http.response.start")):
                return
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                finished = True
            await send(message)

        await self.app(scope, receive_or_disconnect, send_unless_gone)
        if disconnected and started and not finished:
            await send({"type": "http.response.body", "body": b"", "more_body": False})


class _FaultMiddleware:
    """fault="500": every POST to the MCP endpoint answers 500 before anything else looks at it."""

    def __init__(self, app: ASGIApp, owner: RemoteMcpServer) -> None:
        self.app = app
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        owner = self.owner
        if (
            owner.fault == "500"
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].rstrip("/") == owner.message_path.rstrip("/")
        ):
            body = b"injected fault: HTTP 500\n"
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
