"""The loopback callback server: it listens on the redirect URI's host, port and path, answers a
callback with a wrong or missing state with 400 and keeps waiting, and ends at the first valid one.
A response from another authorization server than the one asked (RFC 9207 `iss`) ends it with an error."""

from __future__ import annotations

import html
import os
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..errors import untrusted_text
from .errors import CallbackError, OAuthError

DEFAULT_PORT = 54321
PORT_ENV = "MCP_GATEWAY_OAUTH_PORT"
_BIND = {"localhost": ("127.0.0.1", "::1"), "127.0.0.1": ("127.0.0.1",), "::1": ("::1",)}

SUCCESS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Authorization Successful</title></head>
<body><h1>&#10003; Authorization Successful!</h1><p>You can close this window and return to the terminal.</p></body></html>
"""


@dataclass(frozen=True)
class Redirect:
    uri: str
    host: str
    port: int
    path: str


@dataclass(frozen=True)
class ExpectedIssuer:
    """The authorization server an authorization response must come from: the `issuer` of its RFC 8414
    metadata, and whether that metadata says `authorization_response_iss_parameter_supported: true`."""

    issuer: str
    required: bool = False


def check_iss(iss: str | None, expected: ExpectedIssuer | None, sent: tuple[str, ...] = ()) -> None:
    """RFC 9207 §2.4: the `iss` of an authorization response (None when absent) against the issuer the
    request was sent to, by simple string comparison (RFC 3986 §6.2.1): no normalisation, so
    `https://as.example/` is not `https://as.example`. A present `iss` is always compared; an absent one
    is refused only when the metadata advertised the parameter. `expected` None (the authorization
    server was not discovered: both endpoints come from the catalog) checks nothing. `sent`: values the
    request carried (the code), never printed. Raises CallbackError naming what was expected and what
    came, before any token request."""
    if expected is None:
        return
    if iss is None:
        if expected.required:
            raise CallbackError(
                f"authorization failed: the authorization response has no iss, but {expected.issuer} says it "
                "sends one (authorization_response_iss_parameter_supported, RFC 9207); no token was requested: "
                "authorize again"
            )
        return
    if iss != expected.issuer:
        shown = untrusted_text(iss, sent, 120)
        received = f'"{shown}"' if shown is not None else "a value that repeats what was sent"
        raise CallbackError(
            f"authorization failed: the authorization response names the issuer {received}, not "
            f"{expected.issuer} (iss, RFC 9207): it may come from another authorization server, so no token "
            "was requested: authorize again, and tell the server's operator if it repeats"
        )


def choose_redirect(configured: str | None, callback_port: int | None, warn: Any = None) -> Redirect:
    """credentials.redirectUri, else http://127.0.0.1:<port>/callback with the port from --callback-port,
    MCP_GATEWAY_OAUTH_PORT, or 54321."""
    if configured:
        parts = urlsplit(configured)
        host = parts.hostname or ""
        if parts.scheme != "http" or host not in _BIND or not parts.port:
            raise OAuthError(f"redirectUri {configured} must be http on localhost, 127.0.0.1 or [::1] with a port")
        return Redirect(configured, host, parts.port, parts.path or "/")
    port = callback_port
    if port is None:
        raw = os.environ.get(PORT_ENV)
        if raw:
            try:
                port = int(raw)
                if not 1024 < port <= 65535:
                    raise ValueError
            except ValueError:
                if warn is not None:
                    warn(f"! Invalid {PORT_ENV} {raw} (must be 1025-65535), using default {DEFAULT_PORT}")
                port = None
    port = port or DEFAULT_PORT
    return Redirect(f"http://127.0.0.1:{port}/callback", "127.0.0.1", port, "/callback")


def port_busy_message(port: int, error: Exception) -> str:
    return (
        f"OAuth callback port {port} is already in use.\n\n"
        "Solutions:\n"
        f"  1. Stop the service using port {port}\n"
        f"  2. Set a custom port: --callback-port 5001 or export {PORT_ENV}=5001\n"
        f"  3. Check what's using the port: lsof -i :{port}\n\n"
        f"Error: {error}"
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], family: int, callback: CallbackServer) -> None:
        self.address_family = family
        self.callback = callback
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # the query holds the code: never log it
        pass

    def do_GET(self) -> None:
        self.server.callback.handle(self)


class CallbackServer:
    def __init__(self, redirect: Redirect, state: str, issuer: ExpectedIssuer | None = None) -> None:
        self.redirect = redirect
        self.state = state
        self.issuer = issuer  # RFC 9207: None when the authorization server was not discovered
        self._done = threading.Event()
        self._code: str | None = None
        self._error: str | None = None
        self._servers: list[_Server] = []
        self._serving = False
        self._lock = threading.Lock()

    def start(self) -> None:
        for address in _BIND[self.redirect.host]:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            try:
                self._servers.append(_Server((address, self.redirect.port), family, self))
            except OSError as e:
                if address == "::1" and self._servers:
                    continue  # no IPv6 loopback here: 127.0.0.1 is enough
                self.close()
                raise CallbackError(port_busy_message(self.redirect.port, e)) from None
        for server in self._servers:
            threading.Thread(target=server.serve_forever, name="oauth-callback", daemon=True).start()
        self._serving = True

    def handle(self, request: _Handler) -> None:
        url = urlsplit(request.path)
        if url.path != self.redirect.path:
            self._reply(request, 404, "Not found")
            return
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        with self._lock:
            if self._done.is_set() or query.get("state") != self.state:
                self._reply(
                    request, 400, "Invalid or missing state parameter: this is not the authorization in progress."
                )
                return
            try:  # an error response too may come from another server (RFC 9207 §2.4)
                check_iss(query.get("iss"), self.issuer, (query.get("code") or "",))
            except CallbackError as e:
                self._error = str(e)
                self._reply(request, 400, "Authorization failed: " + self._error.removeprefix("authorization failed: "))
            else:
                self._take(request, query)
            self._done.set()

    def _take(self, request: _Handler, query: dict[str, str]) -> None:
        """The code, or the error, of this authorization's response."""
        if query.get("error"):
            # the browser brings whatever the authorization server (or a page) put in the URL
            detail = untrusted_text(query["error"], limit=80) or "error"
            description = untrusted_text(query.get("error_description", ""))
            if description:
                detail += f" - {description}"
            self._error = f"authorization failed: {detail}"
            self._reply(request, 400, f"Authorization failed: {detail}")
        elif not query.get("code"):
            self._error = "authorization failed: the callback had no authorization code"
            self._reply(request, 400, "Missing authorization code in callback")
        else:
            self._code = query["code"]
            self._reply(request, 200, SUCCESS_PAGE, "text/html; charset=utf-8")

    @staticmethod
    def _reply(request: _Handler, status: int, body: str, content_type: str = "text/plain; charset=utf-8") -> None:
        data = body.encode() if content_type.startswith("text/html") else html.unescape(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def wait(self, timeout: float) -> str:
        """The authorization code of the first valid callback."""
        if not self._done.wait(timeout):
            raise CallbackError(
                f"no authorization callback within {timeout:g} s: run the command again, or give more time with --timeout"
            )
        if self._error:
            raise CallbackError(self._error)
        assert self._code is not None
        return self._code

    def close(self) -> None:
        for server in self._servers:
            if self._serving:
                server.shutdown()
            server.server_close()
        self._servers, self._serving = [], False

    def __enter__(self) -> CallbackServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
