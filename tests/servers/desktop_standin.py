"""A stand-in for Docker Desktop: HTTP servers on the unix sockets the plugin computes under a temporary
HOME (the backend socket, the tools socket and the Secrets Engine's socket), answering the endpoints the
plugin uses as Desktop documents them (go-plugin-plumbing.md §3.6, §4.5, §4.6) and recording every call
it gets.

Backend: `GET /ping`, `POST /idle/make-busy`. Tools (OAuth apps): `GET /apps`, `GET|POST|DELETE
/apps/<app>`, `GET|POST|DELETE /apps/<app>/dcr`. Desktop itself would run DCR, PKCE and the browser
step after `POST /apps/<app>`; here a test finishes that step with `complete(app)`. Secrets Engine
(`<cache dir>/docker-secrets-engine/engine.sock`, the cache dir being `cache_dir`, else HOME/.cache
when that path is short enough for a unix socket, else a short temporary directory; the test gives
the plugin `XDG_CACHE_HOME=<stand-in>.cache_dir`):
Connect-RPC unary `POST /resolver.v1.ResolverService/GetSecrets` in its JSON form, answering from
`secrets`; `hold_token(app, …)` plants the access token Desktop holds for an app, and
`refresh_on_access(app, …)` the one Desktop swaps in at the next `GET /apps/<app>` (Desktop refreshes a
token when its app is accessed).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socketserver
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True)
class DesktopCall:
    """One request as the stand-in saw it; Desktop's API carries no secrets, so the body is kept."""

    socket: str  # "backend" | "tools" | "secrets"
    method: str
    path: str  # with the query string
    body: str
    content_type: str | None


GET_SECRETS = "/resolver.v1.ResolverService/GetSecrets"
ENGINE_SOCKET = os.path.join("docker-secrets-engine", "engine.sock")  # under the user's cache dir


class DesktopBackend:
    BROWSER_URL = "https://desktop-oauth.invalid/authorize/{app}"

    def __init__(self, home: str, cache_dir: str | None = None) -> None:
        directory = os.path.join(home, ".docker", "desktop")
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, "backend.sock")
        self.tools_path = os.path.join(directory, "tools.sock")
        self._short_dir: str | None = None
        self.cache_dir = cache_dir or os.path.join(home, ".cache")  # give the plugin XDG_CACHE_HOME=this
        if len(os.path.join(self.cache_dir, ENGINE_SOCKET)) >= 100 and cache_dir is None:
            # too long for a unix socket's address (about 107 bytes): a short directory instead
            self.cache_dir = self._short_dir = tempfile.mkdtemp(prefix="xdg-")
        self.engine_path = os.path.join(self.cache_dir, ENGINE_SOCKET)
        os.makedirs(os.path.dirname(self.engine_path), exist_ok=True)
        self.requests: list[DesktopCall] = []
        self.apps: dict[str, dict[str, Any]] = {}  # OAuthApp JSON by name
        self.dcr: dict[str, dict[str, Any]] = {}  # DCR entries by app
        self.pending: set[str] = set()  # apps whose browser step Desktop has started
        self.secrets: dict[str, dict[str, Any]] = {}  # the Secrets Engine's envelopes (JSON form) by ID
        self.refreshed: dict[str, dict[str, Any]] = {}  # by app: the token envelope GET /apps/<app> swaps in
        self._lock = threading.Lock()
        self._servers = [
            self._serve(self.path, "backend"),
            self._serve(self.tools_path, "tools"),
            self._serve(self.engine_path, "secrets"),
        ]

    @property
    def calls(self) -> list[tuple[str, str]]:
        """(method, path) of the backend socket's calls."""
        return [(c.method, c.path) for c in self.requests if c.socket == "backend"]

    def tools_calls(self) -> list[tuple[str, str, str]]:
        """(method, path, body) of the tools socket's calls, in order."""
        return [(c.method, c.path, c.body) for c in self.requests if c.socket == "tools"]

    def engine_calls(self) -> list[str]:
        """The patterns of the Secrets Engine's GetSecrets calls, in order."""
        return [json.loads(c.body)["pattern"] for c in self.requests if c.socket == "secrets"]

    def hold_token(self, app: str, access_token: str | bytes, expiry: str | None = None) -> None:
        """Desktop holds this access token for the app (as its OAuth plugin stores it in the engine)."""
        self.secrets[f"docker/mcp/oauth/{app}"] = _envelope(f"docker/mcp/oauth/{app}", access_token, expiry)

    def refresh_on_access(self, app: str, access_token: str, expiry: str | None = None) -> None:
        """At the next GET /apps/<app>, Desktop replaces the app's token with this one."""
        self.refreshed[app] = _envelope(f"docker/mcp/oauth/{app}", access_token, expiry)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def add_app(self, app: str, authorized: bool = False, provider: str = "", scopes: tuple[str, ...] = ()) -> None:
        self.apps[app] = {
            "app": app,
            "authorized": authorized,
            "provider": provider or app,
            **({"scopes": [{"name": s} for s in scopes]} if scopes else {}),
            "tools": [],
        }

    def complete(self, app: str) -> None:
        """The user finished the browser step Desktop opened: the app is authorized."""
        assert app in self.pending, f"no authorization of {app} was started"
        self.pending.discard(app)
        self.apps[app]["authorized"] = True

    # --- the endpoints ---

    def _backend(self, method: str, path: str, body: str) -> tuple[int, Any]:
        if (method, path) in (("GET", "/ping"), ("POST", "/idle/make-busy")):
            return 200, None
        return 404, {"message": f"no route {method} {path}"}

    def _tools(self, method: str, target: str, body: str) -> tuple[int, Any]:
        url = urlsplit(target)
        parts = [unquote(p) for p in url.path.split("/")[1:]]
        query = parse_qs(url.query)
        if parts == ["apps"] and method == "GET":
            return 200, [self.apps[a] for a in sorted(self.apps)]
        if len(parts) == 2 and parts[0] == "apps":
            return self._app(method, parts[1])
        if len(parts) == 3 and parts[0] == "apps" and parts[2] == "dcr":
            return self._dcr(method, parts[1], query, body)
        return 404, {"message": f"no route {method} {url.path}"}

    def _app(self, method: str, app: str) -> tuple[int, Any]:
        if app not in self.apps:
            return 404, {"message": f"OAuth app {app} not found"}
        if method == "GET":
            if app in self.refreshed:
                self.secrets[f"docker/mcp/oauth/{app}"] = self.refreshed.pop(app)
            return 200, self.apps[app]
        if method == "POST":
            self.pending.add(app)
            return 200, {"authType": "oauth", "browserUrl": self.BROWSER_URL.format(app=app)}
        if method == "DELETE":
            self.apps[app]["authorized"] = False
            return 200, None
        return 405, {"message": "method not allowed"}

    def _dcr(self, method: str, app: str, query: dict[str, list[str]], body: str) -> tuple[int, Any]:
        if method == "GET":
            return (200, self.dcr[app]) if app in self.dcr else (404, {"message": f"DCR client for {app} not found"})
        if method == "POST":
            request = json.loads(body)
            self.dcr[app] = {
                "state": query.get("state", ["registered"])[0],
                "serverName": app,
                "providerName": request["providerName"],
                "clientId": request["clientId"],
                "registeredAt": "2026-01-01T00:00:00Z",
            }
            self.apps.setdefault(
                app, {"app": app, "authorized": False, "provider": request["providerName"], "tools": []}
            )
            return 200, {}
        if method == "DELETE":
            return (200, None) if self.dcr.pop(app, None) else (404, {"message": f"DCR client for {app} not found"})
        return 405, {"message": "method not allowed"}

    def _engine(self, method: str, path: str, body: str) -> tuple[int, Any]:
        """Connect-RPC unary, JSON form: errors are `{"code", "message"}` with the code's HTTP status."""
        if (method, path) != ("POST", GET_SECRETS):
            return 404, {"code": "unimplemented", "message": f"no procedure {path}"}
        try:
            pattern = json.loads(body)["pattern"]
        except (ValueError, KeyError, TypeError):
            return 400, {"code": "invalid_argument", "message": 'a GetSecretsRequest is {"pattern": string}'}
        found = [self.secrets[i] for i in sorted(self.secrets) if _matches(pattern, i)]
        if not found:
            return 404, {"code": "not_found", "message": "secret not found"}
        return 200, {"envelopes": found}

    # --- the servers ---

    def _serve(self, path: str, name: str) -> socketserver.UnixStreamServer:
        outer = self
        route = {"backend": self._backend, "tools": self._tools, "secrets": self._engine}[name]

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def address_string(self) -> str:  # a unix socket has no host/port pair
                return "unix"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                with outer._lock:
                    outer.requests.append(
                        DesktopCall(name, self.command, self.path, body, self.headers["Content-Type"])
                    )
                    status, answer = route(self.command, self.path, body)
                data = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                if data:
                    self.wfile.write(data)
                self.close_connection = True

            do_GET = do_POST = do_DELETE = _handle

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        return Server(path, Handler)

    def __enter__(self) -> DesktopBackend:
        for server in self._servers:
            # a short poll: shutdown() waits for it, once per socket
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for path in (self.path, self.tools_path, self.engine_path):
            with contextlib.suppress(FileNotFoundError):  # a test may have removed one
                os.unlink(path)
        if self._short_dir:
            shutil.rmtree(self._short_dir, ignore_errors=True)


def _envelope(secret_id: str, value: str | bytes, expiry: str | None) -> dict[str, Any]:
    raw = value.encode() if isinstance(value, str) else value
    return {
        "id": secret_id,
        "value": base64.b64encode(raw).decode(),
        "provider": "docker-desktop-mcp-oauth",
        "metadata": {"ExpiryAt": expiry} if expiry else {},
    }


def _matches(pattern: str, secret_id: str) -> bool:
    """The engine's patterns: an exact ID, or a prefix ending in `**`."""
    if pattern.endswith("**"):
        return secret_id.startswith(pattern[:-2])
    return secret_id == pattern
