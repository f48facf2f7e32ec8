"""A loopback HTTP server that misbehaves on purpose, path by path: it answers a redirect to another
host, streams a body that never ends, drips one byte at a time (status line and headers, or body),
echoes the request body inside an OAuth error, or answers JSON it is given (valid or not). Every
connection and every request it receives is recorded, bodies included, and so is how many body bytes
it managed to write per path before the client hung up.

    with HostileServer() as server, HostileServer("127.0.0.2") as other:
        server.redirect("/token", other.url("/token"))
        ...
        assert other.connections == 0        # nothing reached "the other host"

It also serves the usual OAuth pieces a test builds on: an authorization endpoint that redirects at once
to the client's redirect_uri with a code and the state it was given (as the MCP conformance suite's
server does), and RFC 9728 / RFC 8414 discovery documents.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

ENDLESS_LIMIT_BYTES = 256 * 1024 * 1024  # a client that never hangs up still sees the stream end, not the test hang
_CHUNK = b"a" * (64 * 1024)


@dataclass(frozen=True)
class Received:
    """One request as the server read it."""

    method: str
    path: str  # without the query
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it was read


@dataclass
class _Counters:
    lock: threading.Lock = field(default_factory=threading.Lock)
    connections: int = 0
    requests: list[Received] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)  # body bytes written per path
    hung_up: dict[str, float] = field(default_factory=dict)  # when the client closed before the end


Behaviour = Callable[["_Handler", Received], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: HostileServer

    def verify_request(self, request: Any, client_address: Any) -> bool:
        with self.owner._counters.lock:
            self.owner._counters.connections += 1
        return True


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        received = Received(
            self.command,
            parts.path,
            dict(parse_qsl(parts.query, keep_blank_values=True)),
            dict(self.headers),
            body,
            time.monotonic(),
        )
        owner = self.server.owner
        with owner._counters.lock:
            owner._counters.requests.append(received)
        behaviour = owner._routes.get((self.command, parts.path)) or owner._routes.get(("*", parts.path))
        if behaviour is None:
            self.answer(404, b"not found", {"Content-Type": "text/plain"})
        else:
            behaviour(self, received)

    do_GET = do_POST = _dispatch

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class HostileServer:
    """A ThreadingHTTPServer on `host` (a free port), for a `with` block. Routes are set with the
    methods below, before or while a command runs; an unknown path answers 404."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._counters = _Counters()
        self._routes: dict[tuple[str, str], Behaviour] = {}
        self._stopping = threading.Event()
        self._server = _Server((host, 0), _Handler)
        self._server.owner = self
        self.base_url = f"http://{host}:{self._server.server_address[1]}"

    def __enter__(self) -> HostileServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()  # ends drips and endless streams still writing
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return self.base_url + path

    # --- what it saw ---

    @property
    def connections(self) -> int:
        with self._counters.lock:
            return self._counters.connections

    @property
    def requests(self) -> list[Received]:
        with self._counters.lock:
            return list(self._counters.requests)

    def received(self, path: str, method: str | None = None) -> list[Received]:
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    def bytes_sent(self, path: str) -> int:
        """Body bytes written for `path` (all its requests), counted as each write returned."""
        with self._counters.lock:
            return self._counters.sent.get(path, 0)

    def hung_up(self, path: str) -> float | None:
        """When (time.monotonic()) the server found that the client had closed the connection of `path`
        before it was done writing (a drip notices at its next byte); None if it never did."""
        with self._counters.lock:
            return self._counters.hung_up.get(path)

    def _count(self, path: str, n: int) -> None:
        with self._counters.lock:
            self._counters.sent[path] = self._counters.sent.get(path, 0) + n

    def _hang_up(self, path: str) -> None:
        with self._counters.lock:
            self._counters.hung_up.setdefault(path, time.monotonic())

    # --- behaviours ---

    def route(self, path: str, behaviour: Behaviour, method: str = "*") -> None:
        self._routes[(method, path)] = behaviour

    def json(
        self, path: str, data: dict[str, Any] | bytes, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        """`data` as JSON, or `bytes` sent as they are (for JSON that json.loads accepts and RFC 8259 does not)."""
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        self.route(path, lambda h, r: h.answer(status, body, headers))

    def redirect(self, path: str, location: str, status: int = 307) -> None:
        self.route(path, lambda h, r: h.answer(status, b"", {"Location": location}))

    def endless(self, path: str) -> None:
        """200 with a JSON-looking body that never ends (no Content-Length), written as fast as the client
        reads, until it hangs up (or ENDLESS_LIMIT_BYTES)."""

        def stream(h: _Handler, r: Received) -> None:
            h.close_connection = True
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.end_headers()
            try:
                h.wfile.write(b'{"padding": "')
                while not self._stopping.is_set() and self.bytes_sent(path) < ENDLESS_LIMIT_BYTES:
                    h.wfile.write(_CHUNK)
                    self._count(path, len(_CHUNK))
            except OSError:
                self._hang_up(path)

        self.route(path, stream)

    def drip(self, path: str, body: bytes, interval: float = 1.0, stage: str = "body") -> None:
        """A 200 with `body`, one byte every `interval` seconds: from the status line on (stage="headers"),
        or the headers at once and then the body (stage="body")."""
        assert stage in ("headers", "body"), stage

        def slowly(h: _Handler, r: Received) -> None:
            h.close_connection = True
            head = (
                f"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            at_once, dripped = (b"", head + body) if stage == "headers" else (head, body)
            try:
                h.wfile.write(at_once)
                for i in range(len(dripped)):
                    h.wfile.write(dripped[i : i + 1])
                    self._count(path, 1)
                    if self._stopping.wait(interval):
                        return
            except OSError:
                self._hang_up(path)

        self.route(path, slowly)

    def echo_error(self, path: str, into: str = "error_description", status: int = 400) -> None:
        """An OAuth error whose `into` field ("error_description" or "error") is the request body, as sent."""

        def echo(h: _Handler, r: Received) -> None:
            data = {"error": "invalid_request", "error_description": "bad request"}
            data[into] = r.body.decode("latin-1")
            h.answer(status, json.dumps(data).encode())

        self.route(path, echo)

    def authorization_endpoint(self, path: str = "/authorize", code: str = "", **params: str) -> None:
        """Redirects at once to the request's redirect_uri with `code` (or other `params`, such as error
        and error_description) and the state it received, as an authorization server whose user approved
        (or refused) without a page."""

        def approve(h: _Handler, r: Received) -> None:
            answer = {"code": code} if code else {}
            answer.update(params)
            if "state" in r.query:
                answer["state"] = r.query["state"]
            h.answer(302, b"", {"Location": f"{r.query['redirect_uri']}?{urlencode(answer)}"})

        self.route(path, approve, method="GET")

    def protected_resource(self, path: str = "/mcp") -> None:
        """An MCP endpoint that answers 401 naming its RFC 9728 metadata, which names this server as its
        authorization server."""
        metadata_path = "/.well-known/oauth-protected-resource" + path
        challenge = f'Bearer resource_metadata="{self.url(metadata_path)}"'
        self.json(path, {"error": "invalid_token"}, 401, {"WWW-Authenticate": challenge})
        self.json(
            metadata_path,
            {"resource": self.url(path), "authorization_servers": [self.base_url], "scopes_supported": ["mcp:tools"]},
        )

    def authorization_server_metadata(self, **fields: Any) -> None:
        """RFC 8414 metadata at /.well-known/oauth-authorization-server: this server's /authorize and
        /token, plus `fields` (a value None leaves its key out)."""
        data = {
            "issuer": self.base_url,
            "authorization_endpoint": self.url("/authorize"),
            "token_endpoint": self.url("/token"),
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            **fields,
        }
        self.json("/.well-known/oauth-authorization-server", {k: v for k, v in data.items() if v is not None})
