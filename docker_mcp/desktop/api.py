"""Docker Desktop's OAuth apps API on its tools socket, spoken as the Go plugin speaks it
(go-plugin-plumbing.md §4.2, §4.6; go-plugin-oauth.md §8.4): plain HTTP to `localhost`, 10 s per call,
JSON bodies only when there is a body, and a best-effort `POST /idle/make-busy` on the backend socket
before every tools call so that Desktop leaves Resource Saver mode."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

from ..errors import DockerMcpError
from .detect import SocketHTTPConnection, backend_socket, tools_socket

TIMEOUT_SECONDS = 10.0


class DesktopError(DockerMcpError):
    """Desktop did not answer, or answered with an error (its HTTP status, else None)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class OAuthApp:
    """An OAuth app as Desktop lists it."""

    app: str
    authorized: bool
    provider: str = ""
    scopes: tuple[str, ...] = ()  # the scope names
    tools: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> OAuthApp:
        if not isinstance(data, dict) or not isinstance(data.get("app"), str):
            raise DesktopError(f"Docker Desktop listed an OAuth app without a name: {json.dumps(data)[:200]}")
        scopes = data.get("scopes") or []
        provider = data.get("provider")
        tools = data.get("tools") or []
        return cls(
            app=data["app"],
            authorized=data.get("authorized") is True,
            provider=provider if isinstance(provider, str) else "",
            scopes=tuple(
                s["name"] for s in scopes if isinstance(s, dict) and isinstance(s.get("name"), str) and s["name"]
            )
            if isinstance(scopes, list)
            else (),
            tools=tuple(t for t in tools if isinstance(t, str)) if isinstance(tools, list) else (),
        )


class DesktopClient:
    def __init__(self, home: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self.backend = backend_socket(home)
        self.tools = tools_socket(home)
        self.timeout = timeout

    # --- the tools socket ---

    def list_apps(self) -> list[OAuthApp]:
        apps = self._tools("GET", "/apps")
        if apps is None:
            return []
        if not isinstance(apps, list):
            raise DesktopError("Docker Desktop answered GET /apps with something other than a list")
        return [OAuthApp.from_json(a) for a in apps]

    def get_app(self, app: str) -> OAuthApp:
        return OAuthApp.from_json(self._tools("GET", _app_path(app)))

    def authorize_app(self, app: str, scopes: str | None = None) -> str:
        """Start Desktop's authorization of the app; returns the URL of its browser step."""
        query = f"?scopes={quote_plus(scopes)}" if scopes else ""
        answer = self._tools("POST", _app_path(app) + query)
        url = answer.get("browserUrl") if isinstance(answer, dict) else None
        if not isinstance(url, str) or not url:
            raise DesktopError(f"OAuth provider does not exist: Docker Desktop has no OAuth app {app}")
        return url

    def revoke_app(self, app: str) -> None:
        self._tools("DELETE", _app_path(app))

    def get_dcr_client(self, app: str) -> dict[str, Any]:
        found = self._tools("GET", _app_path(app) + "/dcr")
        if not isinstance(found, dict):
            raise DesktopError(f"Docker Desktop answered GET /apps/{app}/dcr with something other than an object")
        return found

    def delete_dcr_client(self, app: str) -> None:
        self._tools("DELETE", _app_path(app) + "/dcr")

    def register_pending_dcr_client(self, app: str, provider: str) -> None:
        """Tell Desktop the app needs dynamic client registration, which it does at the first authorize."""
        self._tools("POST", _app_path(app) + "/dcr?state=unregistered", {"clientId": "", "providerName": provider})

    # --- transport ---

    def _tools(self, method: str, path: str, body: Any = None) -> Any:
        self._avoid_resource_saver()
        return self._request(self.tools, method, path, body=body)

    def _avoid_resource_saver(self) -> None:
        with contextlib.suppress(DesktopError):  # best effort, as in the Go plugin
            self._request(self.backend, "POST", "/idle/make-busy", decode=False)

    def _request(self, socket_path: str, method: str, path: str, body: Any = None, decode: bool = True) -> Any:
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None or method == "DELETE" else {}
        connection = SocketHTTPConnection(socket_path, self.timeout)
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            status, body = response.status, response.read()
        except OSError as e:
            raise DesktopError(f"no answer to {method} {path} on {socket_path}: {e.strerror or e}") from None
        finally:
            connection.close()
        if not 200 <= status < 300:
            raise DesktopError(f"HTTP {status}: {_error_message(body)}", status)
        if not decode or method == "DELETE" or not body.strip():
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise DesktopError(f"Docker Desktop answered {method} {path} with something other than JSON") from None


def _app_path(app: str) -> str:
    return "/apps/" + quote(app, safe="")


def _error_message(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    try:
        message = json.loads(text).get("message")
    except (ValueError, AttributeError):
        message = None
    return message if isinstance(message, str) and message else " ".join(text.split())[:300]
