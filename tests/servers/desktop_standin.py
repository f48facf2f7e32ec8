"""A stand-in for Docker Desktop's backend socket: an HTTP server on a unix socket at the path the
plugin computes under a temporary HOME, answering /ping and recording the calls it gets."""

from __future__ import annotations

import os
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any


class DesktopBackend:
    def __init__(self, home: str) -> None:
        self.path = os.path.join(home, ".docker", "desktop", "backend.sock")
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.calls: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def address_string(self) -> str:  # a unix socket has no host/port pair
                return "unix"

            def do_GET(self) -> None:
                outer.calls.append(("GET", self.path))
                status = 200 if self.path == "/ping" else 404
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self._server = Server(self.path, Handler)

    def __enter__(self) -> DesktopBackend:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        os.unlink(self.path)
