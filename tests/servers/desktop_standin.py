"""A stand-in for Docker Desktop: HTTP servers on the unix sockets the plugin computes under a temporary
HOME (the backend socket and the tools socket), answering the endpoints the plugin uses as Desktop
documents them (go-plugin-plumbing.md §4.5, §4.6) and recording every call it gets.

Backend: `GET /ping`, `POST /idle/make-busy`. Tools (OAuth apps): `GET /apps`, `GET|POST|DELETE
/apps/<app>`, `GET|POST|DELETE /apps/<app>/dcr`. Desktop itself would run DCR, PKCE and the browser
step after `POST /apps/<app>`; here a test finishes that step with `complete(app)`.
"""

from __future__ import annotations

import contextlib
import json
import os
import socketserver
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True)
class DesktopCall:
    """One request as the stand-in saw it; Desktop's API carries no secrets, so the body is kept."""

    socket: str  # "backend" | "tools"
    method: str
    path: str  # with the query string
    body: str
    content_type: str | None


class DesktopBackend:
    BROWSER_URL = "https://desktop-oauth.invalid/authorize/{app}"

    def __init__(self, home: str) -> None:
        directory = os.path.join(home, ".docker", "desktop")
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, "backend.sock")
        self.tools_path = os.path.join(directory, "tools.sock")
        self.requests: list[DesktopCall] = []
        self.apps: dict[str, dict[str, Any]] = {}  # OAuthApp JSON by name
        self.dcr: dict[str, dict[str, Any]] = {}  # DCR entries by app
        self.pending: set[str] = set()  # apps whose browser step Desktop has started
        self._lock = threading.Lock()
        self._servers = [self._serve(self.path, "backend"), self._serve(self.tools_path, "tools")]

    @property
    def calls(self) -> list[tuple[str, str]]:
        """(method, path) of the backend socket's calls."""
        return [(c.method, c.path) for c in self.requests if c.socket == "backend"]

    def tools_calls(self) -> list[tuple[str, str, str]]:
        """(method, path, body) of the tools socket's calls, in order."""
        return [(c.method, c.path, c.body) for c in self.requests if c.socket == "tools"]

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

    # --- the servers ---

    def _serve(self, path: str, name: str) -> socketserver.UnixStreamServer:
        outer = self
        route = self._backend if name == "backend" else self._tools

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
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for path in (self.path, self.tools_path):
            with contextlib.suppress(FileNotFoundError):  # a test may have removed one
                os.unlink(path)
