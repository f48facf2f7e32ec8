"""Desktop or CE mode, as the Go plugin decides it (go-plugin-plumbing.md §4.3, go-plugin-oauth.md §2):

1. DOCKER_MCP_USE_CE=true, or DOCKER_MCP_IN_CONTAINER=1: CE;
2. macOS and Windows: Desktop;
3. Linux: Desktop when GET /ping on its backend socket answers within a second.
"""

from __future__ import annotations

import http.client
import os
import socket
import sys

PING_TIMEOUT_SECONDS = 1.0
_IN_VM_BACKEND = "/run/host-services/backend.sock"


def backend_socket(home: str) -> str:
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Containers", "com.docker.docker", "Data", "backend.sock")
    if os.path.exists(_IN_VM_BACKEND):
        return _IN_VM_BACKEND
    return os.path.join(home, ".docker", "desktop", "backend.sock")


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def desktop_running(home: str, timeout: float = PING_TIMEOUT_SECONDS) -> bool:
    path = backend_socket(home)
    if not os.path.exists(path):
        return False
    connection = _UnixConnection(path, timeout)
    try:
        connection.request("GET", "/ping")
        return 200 <= connection.getresponse().status < 300
    except OSError:
        return False
    finally:
        connection.close()


def ce_mode(home: str) -> bool:
    if os.environ.get("DOCKER_MCP_USE_CE") == "true" or os.environ.get("DOCKER_MCP_IN_CONTAINER") == "1":
        return True
    if sys.platform in ("darwin", "win32"):
        return False
    return not desktop_running(home)
