"""A minimal RFC 9728 protected resource for discovery tests: the MCP URL answers 401 with
`WWW-Authenticate: Bearer resource_metadata=…`, and the metadata names the authorization server.
(The gateway tests use a real MCP server; OAuth discovery needs only this much.)"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

METADATA_PATH = "/.well-known/oauth-protected-resource/mcp"


class ProtectedResource:
    def __init__(self, scopes: tuple[str, ...] = ("mcp:tools",)) -> None:
        self.scopes = scopes
        self.authorization_server = ""  # set once the authorization server is up
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                outer.paths.append(self.path)
                if self.path == METADATA_PATH:
                    body = json.dumps(
                        {
                            "resource": outer.url,
                            "authorization_servers": [outer.authorization_server],
                            "scopes_supported": list(outer.scopes),
                            "bearer_methods_supported": ["header"],
                        }
                    ).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                else:
                    body = b'{"error": "invalid_token"}'
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", f'Bearer resource_metadata="{outer.base_url}{METADATA_PATH}"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.url = self.base_url + "/mcp"

    def __enter__(self) -> ProtectedResource:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
