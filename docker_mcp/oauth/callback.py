"""The loopback callback server: it listens on the redirect URI's host, port and path, answers a
callback with a wrong or missing state with 400 and keeps waiting, and ends at the first valid one.
A response from another authorization server than the one asked (RFC 9207 `iss`) ends it with an error.

The browser's request that brings the code is held open until the flow says how the token request went
(`finish`), so the page says "successful" only once the token is stored, and says why when it is not;
after HOLD_SECONDS it is answered "still working: see the terminal" instead."""

from __future__ import annotations

import errno
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
DEFAULT_HOST = "127.0.0.1"
_BIND = {"localhost": ("127.0.0.1", "::1"), "127.0.0.1": ("127.0.0.1",), "::1": ("::1",)}
# The browser's callback request waits this long for the token request (itself bounded by
# DOCKER_MCP_HTTP_TIMEOUT), then gets STILL_WORKING_PAGE; close() waits ANSWER_SECONDS for the answer to go out.
HOLD_SECONDS = 20.0
ANSWER_SECONDS = 5.0

SUCCESS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Authorization Successful</title></head>
<body><h1>&#10003; Authorization Successful!</h1><p>The token is stored. You can close this window and return to the terminal.</p></body></html>
"""
FAILURE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Authorization Failed</title></head>
<body><h1>&#10007; Authorization failed</h1><p>{reason}</p><p>The terminal says what to do next.</p></body></html>
"""
STILL_WORKING_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Authorization in progress</title></head>
<body><h1>Still working&hellip;</h1><p>The token request is taking longer than usual: see the terminal for the outcome.</p></body></html>
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


def choose_redirect(
    configured: str | None, callback_port: int | None, warn: Any = None, host: str = DEFAULT_HOST
) -> Redirect:
    """credentials.redirectUri, else http://<host>:<port>/callback: `host` one of localhost, 127.0.0.1,
    ::1 (from --callback-host or the catalog's oauth.redirectHost; an IPv6 address goes in brackets, RFC
    3986 §3.2.2), the port from --callback-port, MCP_GATEWAY_OAUTH_PORT, or 54321. Raises OAuthError for
    a redirectUri or host that is not loopback."""
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
    if host not in _BIND:
        raise OAuthError(f"callback host {host} must be localhost, 127.0.0.1 or ::1")
    shown = f"[{host}]" if ":" in host else host
    return Redirect(f"http://{shown}:{port}/callback", host, port, "/callback")


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
    """One authorization's callback: `start` (or `with`), `wait` for the code, then `finish` with how the
    token request went; `close` answers a request still held and stops listening."""

    def __init__(
        self,
        redirect: Redirect,
        state: str,
        issuer: ExpectedIssuer | None = None,
        hold_seconds: float = HOLD_SECONDS,
    ) -> None:
        self.redirect = redirect
        self.state = state
        self.issuer = issuer  # RFC 9207: None when the authorization server was not discovered
        self.hold_seconds = hold_seconds
        self._done = threading.Event()
        self._code: str | None = None
        self._error: str | None = None
        self._error_code: str | None = None  # the response's OAuth `error`, as sent
        self._servers: list[_Server] = []
        self._serving = False
        self._lock = threading.Lock()
        self._held = False  # the request that brought the code waits for finish()
        self._outcome: tuple[int, str] | None = None  # (status, page) that finish() chose
        self._finished = threading.Event()
        self._answered = threading.Event()

    def start(self) -> None:
        for address in _BIND[self.redirect.host]:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            try:
                self._servers.append(_Server((address, self.redirect.port), family, self))
            except OSError as e:
                if address == "::1" and self._servers:
                    continue  # no IPv6 loopback here: 127.0.0.1 is enough
                self.close()
                if e.errno == errno.EADDRNOTAVAIL:
                    raise CallbackError(
                        f"cannot listen on {address} for the OAuth callback: this machine has no such loopback "
                        "address; use --callback-host 127.0.0.1 (or oauth.redirectHost) instead"
                    ) from None
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
        if self._held:
            self._answer_when_finished(request)

    def _take(self, request: _Handler, query: dict[str, str]) -> None:
        """The code, or the error, of this authorization's response; a code's request is held."""
        if query.get("error"):
            # the browser brings whatever the authorization server (or a page) put in the URL
            detail = untrusted_text(query["error"], limit=80) or "error"
            description = untrusted_text(query.get("error_description", ""))
            if description:
                detail += f" - {description}"
            self._error = f"authorization failed: {detail}"
            self._error_code = query["error"]
            self._reply(request, 400, f"Authorization failed: {detail}")
        elif not query.get("code"):
            self._error = "authorization failed: the callback had no authorization code"
            self._reply(request, 400, "Missing authorization code in callback")
        else:
            self._code = query["code"]
            self._held = True

    def _answer_when_finished(self, request: _Handler) -> None:
        """Runs in the request's thread: the page finish() chose, or after hold_seconds STILL_WORKING_PAGE."""
        try:
            if self._finished.wait(self.hold_seconds) and self._outcome is not None:
                status, page = self._outcome
            else:
                status, page = 202, STILL_WORKING_PAGE
            self._reply(request, status, page, "text/html; charset=utf-8")
        except OSError:
            pass  # the browser went away: the terminal has the outcome anyway
        finally:
            self._answered.set()

    def finish(self, ok: bool, message: str = "") -> None:
        """Answer the held callback request: the success page, or (ok False) a page with `message`, one
        line without control characters (omitted when it holds the code). No-op when no request is held
        or it was answered already."""
        if not self._held or self._finished.is_set():
            return
        if ok:
            self._outcome = (200, SUCCESS_PAGE)
        else:
            reason = untrusted_text(message, (self._code or "",), 300) or "see the terminal"
            self._outcome = (400, FAILURE_PAGE.format(reason=html.escape(reason)))
        self._finished.set()

    @staticmethod
    def _reply(request: _Handler, status: int, body: str, content_type: str = "text/plain; charset=utf-8") -> None:
        data = body.encode() if content_type.startswith("text/html") else html.unescape(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def wait(self, timeout: float) -> str:
        """The authorization code of the first valid callback, `timeout` seconds at most. Its request
        stays open until finish() or close(). Raises CallbackError on timeout or an error response."""
        if not self._done.wait(timeout):
            raise CallbackError(
                f"no authorization callback within {timeout:g} s: run the command again, or give more time with --timeout"
            )
        if self._error:
            raise CallbackError(self._error, self._error_code)
        assert self._code is not None
        return self._code

    def close(self) -> None:
        """Answer a request still held (as failed, unless finish() came first), waiting ANSWER_SECONDS at
        most for it to go out, then stop listening. A callback that comes after this (say, after wait()
        timed out) is answered 400: it is not the authorization in progress any more."""
        with self._lock:
            self._done.set()
        if self._held:
            self.finish(False, "the authorization was interrupted")
            self._answered.wait(ANSWER_SECONDS)
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
