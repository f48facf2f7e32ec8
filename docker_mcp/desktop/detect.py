"""Where Docker Desktop's sockets are (go-plugin-plumbing.md §4.1), and Desktop or CE mode, as the Go
plugin decides it (go-plugin-plumbing.md §4.3, go-plugin-oauth.md §2):

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

# Linux inside Desktop's VM: the host services are mounted here instead of under HOME
_IN_VM_DIR = "/run/host-services"
_WINDOWS_PIPES = {
    "backend": r"\\.\pipe\dockerBackendApiServer",
    "tools": r"\\.\pipe\dockerTools",
}


def _socket(home: str, name: str) -> str:
    if sys.platform == "win32":
        return _WINDOWS_PIPES[name]
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Containers", "com.docker.docker", "Data", f"{name}.sock")
    if os.path.exists(os.path.join(_IN_VM_DIR, "backend.sock")):
        return os.path.join(_IN_VM_DIR, f"{name}.sock")
    return os.path.join(home, ".docker", "desktop", f"{name}.sock")


def backend_socket(home: str) -> str:
    """Desktop's backend API: /ping, /idle/make-busy, settings."""
    return _socket(home, "backend")


def tools_socket(home: str) -> str:
    """Desktop's tools API: the OAuth apps (/apps)."""
    return _socket(home, "tools")


class SocketHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to `localhost` over a unix socket, as Desktop's APIs are spoken."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        if self.socket_path.startswith("\\\\.\\pipe\\"):
            # http.client has no named-pipe transport; the local flow needs none of Desktop's APIs
            raise ConnectionError(
                f"Docker Desktop's named pipe {self.socket_path} is not supported by this plugin: set "
                "DOCKER_MCP_USE_CE=true to authorize with the local flow"
            )
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def desktop_running(home: str, timeout: float = PING_TIMEOUT_SECONDS) -> bool:
    path = backend_socket(home)
    if not os.path.exists(path):
        return False
    connection = SocketHTTPConnection(path, timeout)
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
