"""Where Docker Desktop's sockets are (go-plugin-plumbing.md §4.1), and Desktop or CE mode, as the Go
plugin decides it (go-plugin-plumbing.md §4.3, go-plugin-oauth.md §2):

1. DOCKER_MCP_USE_CE=true, or DOCKER_MCP_IN_CONTAINER=1: CE;
2. macOS and Windows: Desktop;
3. Linux: Desktop when GET /ping on its backend socket answers within a second.
"""

from __future__ import annotations

import functools
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


def secrets_engine_socket(home: str) -> str:
    """The Secrets Engine, where Desktop keeps the OAuth tokens it holds (go-plugin-plumbing.md §3.6):
    `<user cache dir>/docker-secrets-engine/engine.sock`, the cache dir as Go's os.UserCacheDir finds it,
    else the temporary directory."""
    return os.path.join(_user_cache_dir(home) or _temp_dir(), "docker-secrets-engine", "engine.sock")


def _user_cache_dir(home: str) -> str | None:
    if sys.platform == "win32":
        return os.environ.get("LOCALAPPDATA") or None
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Caches") if home else None
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg:
        return xdg if os.path.isabs(xdg) else None  # Go refuses a relative $XDG_CACHE_HOME
    return os.path.join(home, ".cache") if home else None


def _temp_dir() -> str:
    if sys.platform == "win32":
        return os.environ.get("TMP") or os.environ.get("TEMP") or os.environ.get("USERPROFILE") or r"C:\Windows"
    return os.environ.get("TMPDIR") or "/tmp"


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


class DesktopMode:
    """The mode of one run (a gateway's, whatever it reloads), detected when first asked: a /ping can
    take a second, and a run with no OAuth server needs no answer."""

    def __init__(self, home: str) -> None:
        self.home = home

    @functools.cached_property
    def desktop(self) -> bool:
        return not ce_mode(self.home)
