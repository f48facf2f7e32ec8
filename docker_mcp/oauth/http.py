"""HTTP for OAuth: a bounded requests session (no redirects, a deadline for the whole exchange, a cap on
the response) with our user agent, and the rule for which URLs may be used (https to a public host, or
plain http on request for local testing)."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from ..catalog.schema import insecure_urls_allowed
from .errors import OAuthError

MAX_RESPONSE_BYTES = 1024 * 1024  # metadata and token responses are a few KiB
_BLOCKED_HOSTS = ("localhost", "metadata", "metadata.google.internal", "metadata.azure.internal")
_BLOCKED_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".cluster.local", ".svc")


def insecure_allowed() -> bool:
    return insecure_urls_allowed()  # one rule for the catalog and OAuth


def check_url(url: str, what: str) -> str:
    """Refuse a URL OAuth must not talk to: not absolute, userinfo, not https, or a private host."""
    if any(c.isspace() or not c.isprintable() for c in url):  # nothing that could move a terminal's cursor
        raise OAuthError(f"invalid {what}: the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise OAuthError(f"invalid {what} {url!r}: not a valid URL") from None
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


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))  # RFC 6052, RFC 8215


def _is_private_ip(host: str) -> bool:
    """An address OAuth must not reach: not global, a deprecated site-local IPv6 one (fec0::/10), or an
    IPv6 spelling of an IPv4 address that is not global (IPv4-mapped, IPv4-compatible, SIIT, NAT64,
    6to4, Teredo), which `is_global` alone calls global."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if (embedded is not None and not embedded.is_global) or ip.is_site_local:
            return True
    return not ip.is_global


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]  # the client's address; the server's is public by definition
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 in (0, 0xFFFF0000):  # ::a.b.c.d (IPv4-compatible), ::ffff:0:a.b.c.d (SIIT, RFC 7915)
        return low32
    if any(ip in net for net in _NAT64):
        return low32
    return None


def new_session() -> Any:
    """A requests.Session for OAuth calls: our user agent, and every request bounded as
    bounded_http.bounded_session_class says (redirects refused, MAX_RESPONSE_BYTES, one deadline)."""
    import requests

    from ..bounded_http import bounded_session_class
    from ..metadata import version

    session = bounded_session_class(requests.Session, MAX_RESPONSE_BYTES)()
    session.headers["User-Agent"] = f"docker-mcp/{version()}"
    return session


def describe_failure(e: Exception) -> str:
    """A one-line reason for a failed request, without request or response bodies."""
    import requests

    from ..bounded_http import ResponseRefused

    if isinstance(e, ResponseRefused):
        return e.reason
    if isinstance(e, requests.ConnectionError):
        return "could not connect"
    if isinstance(e, requests.Timeout):
        return "no answer in time"
    return type(e).__name__
