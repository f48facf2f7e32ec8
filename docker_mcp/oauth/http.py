"""HTTP for OAuth: a requests session with a timeout and our user agent, and the rule for which URLs
may be used (https, or plain http on request for local testing)."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from ..catalog.schema import insecure_urls_allowed
from .errors import OAuthError

TIMEOUT_SECONDS = 30
_BLOCKED_HOSTS = ("localhost", "metadata", "metadata.google.internal", "metadata.azure.internal")
_BLOCKED_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".cluster.local", ".svc")


def insecure_allowed() -> bool:
    return insecure_urls_allowed()  # one rule for the catalog and OAuth


def check_url(url: str, what: str) -> str:
    """Refuse a URL OAuth must not talk to: not absolute, userinfo, not https, or a private host."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        raise OAuthError(f"invalid {what} {url!r}: must be an absolute URL")
    if parts.username or parts.password:
        raise OAuthError(f"invalid {what}: the URL must not include a user name or password")
    if parts.scheme not in ("http", "https"):
        raise OAuthError(f"invalid {what} {url}: must use https")
    if insecure_allowed():
        return url
    if parts.scheme != "https":
        raise OAuthError(
            f"invalid {what} {url}: must use https (set DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS=1 only for local testing)"
        )
    host = parts.hostname.rstrip(".").lower()
    if host in _BLOCKED_HOSTS or host.endswith(_BLOCKED_SUFFIXES) or _is_private_ip(host):
        raise OAuthError(f"invalid {what} {url}: host {host!r} is not allowed")
    for address in _addresses(host, parts.port or 443):  # every address a name resolves to must be public
        if _is_private_ip(address):
            raise OAuthError(f"invalid {what} {url}: host {host!r} resolved to disallowed address {address}")
    return url


def _addresses(host: str, port: int) -> list[str]:
    """The addresses DNS gives for a name; none when it does not resolve (the request then fails to
    connect, and says so). The connection resolves again: a name that changes its answer in between
    is not caught, as the Go plugin's pinned dial would."""
    import socket

    try:
        ipaddress.ip_address(host)
        return []  # a literal: checked above
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


def _is_private_ip(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global


def new_session() -> Any:
    """A requests.Session for OAuth calls: our user agent, JSON accepted, a timeout on every request."""
    import requests

    from ..metadata import version

    class _Session(requests.Session):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            kwargs.setdefault("timeout", TIMEOUT_SECONDS)
            return super().request(method, url, *args, **kwargs)

    session = _Session()
    session.headers["User-Agent"] = f"docker-mcp/{version()}"
    return session


def describe_failure(e: Exception) -> str:
    """A one-line reason for a failed request, without request bodies."""
    import requests

    if isinstance(e, requests.ConnectionError):
        return "could not connect"
    if isinstance(e, requests.Timeout):
        return f"no answer within {TIMEOUT_SECONDS} s"
    return type(e).__name__
