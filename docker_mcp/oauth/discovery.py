"""Discovery: RFC 9728 protected-resource metadata, then RFC 8414 authorization-server metadata with the
OpenID Connect fallback. The URL builders are pure functions; the fetchers take the HTTP session."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import DiscoveryError
from .http import check_url, describe_failure

_CHALLENGE = re.compile(r"([A-Za-z][A-Za-z0-9\-_]*)\s+([^,]*(?:,\s*[^=\s,]+\s*=\s*(?:\"[^\"]*\"|[^,]*))*)")
_PARAM = re.compile(r"([A-Za-z0-9_-]+)\s*=\s*(?:\"([^\"]*)\"|([^,\s]+))")


@dataclass(frozen=True)
class Challenge:
    scheme: str
    params: dict[str, str]


@dataclass(frozen=True)
class AuthorizationServerMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    registration_endpoint: str | None = None
    revocation_endpoint: str | None = None
    scopes_supported: tuple[str, ...] = ()
    token_endpoint_auth_methods_supported: tuple[str, ...] = ()
    code_challenge_methods_supported: tuple[str, ...] = ()


@dataclass(frozen=True)
class Discovery:
    resource: str  # the RFC 8707 resource indicator
    authorization_server: str
    metadata: AuthorizationServerMetadata
    scopes: tuple[str, ...] = field(default=())


# --- pure URL builders and parsers ---


def parse_www_authenticate(header: str) -> list[Challenge]:
    challenges = []
    for match in _CHALLENGE.finditer(header or ""):
        params = {
            m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
            for m in _PARAM.finditer(match.group(2))
        }
        challenges.append(Challenge(match.group(1), params))
    return challenges


def protected_resource_metadata_urls(server_url: str) -> list[str]:
    """RFC 9728 §3.1: the well-known path inserted before the resource's path, then at the root."""
    parts = urlsplit(server_url)
    path = parts.path.rstrip("/")
    urls = [urlunsplit((parts.scheme, parts.netloc, "/.well-known/oauth-protected-resource" + path, "", ""))]
    root = urlunsplit((parts.scheme, parts.netloc, "/.well-known/oauth-protected-resource", "", ""))
    return urls if root in urls else [*urls, root]


def authorization_server_metadata_urls(issuer: str) -> list[str]:
    """RFC 8414 §3.1 path insertion, then OpenID Connect discovery inserted and appended."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")

    def at(p: str) -> str:
        return urlunsplit((parts.scheme, parts.netloc, p, "", ""))

    candidates = [
        at("/.well-known/oauth-authorization-server" + path),
        at("/.well-known/openid-configuration" + path),
        at(path + "/.well-known/openid-configuration"),
    ]
    return list(dict.fromkeys(candidates))


def origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def resource_covers(resource: str, url: str) -> bool:
    """Whether a token for the RFC 8707 `resource` may be sent to `url`, as RFC 9728 §3.3 relates a
    resource to its URLs: the same origin, and the resource's path the URL's or a parent of it on a
    segment boundary (`https://mcp.slack.com` serves `https://mcp.slack.com/mcp`; `https://h/mcp`
    serves `https://h/mcp/` but not `https://h/mcp2`). A resource with a query serves only itself."""
    r, u = urlsplit(resource), urlsplit(url)
    try:
        r_origin = (r.scheme.lower(), r.hostname, r.port or _DEFAULT_PORTS.get(r.scheme.lower()))
        u_origin = (u.scheme.lower(), u.hostname, u.port or _DEFAULT_PORTS.get(u.scheme.lower()))
    except ValueError:  # a port that is not a number
        return False
    if not r.hostname or r_origin != u_origin:
        return False
    if r.query:
        return (r.path, r.query) == (u.path, u.query)
    base = r.path.rstrip("/")
    return u.path == base or u.path.startswith(base + "/")


_DEFAULT_PORTS = {"http": 80, "https": 443}


# --- fetching ---


def probe(session: Any, server_url: str) -> list[Challenge]:
    """Ask the MCP server to initialize without a token; a 401 names its protected-resource metadata."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "docker-mcp", "version": "1"},
        },
    }
    from ..bounded_http import ResponseRefused

    try:
        response = session.post(server_url, json=body, headers={"Accept": "application/json, text/event-stream"})
    except ResponseRefused as e:
        if e.kind == "redirect":
            return []  # e.g. a trailing-slash redirect: no challenge here, the well-known URLs are next
        raise DiscoveryError(f"cannot use {server_url}: it {e.reason}") from None
    except Exception as e:
        raise DiscoveryError(f"cannot reach {server_url}: {describe_failure(e)}") from None
    return parse_www_authenticate(response.headers.get("WWW-Authenticate", ""))


class _NotAnObject(Exception):
    """The URL answered 200, but not with a JSON object."""


def _get_json(session: Any, url: str, failures: dict[str, str]) -> dict[str, Any] | None:
    """The JSON object at `url`; None when nothing is there (why, when it is not a plain HTTP status, is
    recorded in `failures`); _NotAnObject when something else is. A URL that stalls past the deadline
    or answers more than the cap ends discovery with a DiscoveryError naming it."""
    from ..bounded_http import ResponseRefused

    try:
        response = session.get(url, headers={"Accept": "application/json"})
    except ResponseRefused as e:
        if e.kind != "redirect":
            raise DiscoveryError(f"discovery stopped: {url} {e.reason}") from None
        failures[url] = e.reason
        return None
    except Exception as e:
        failures[url] = describe_failure(e)
        return None
    if response.status_code != 200:
        return None
    try:
        data = response.json()
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise _NotAnObject(url)
    return data


def fetch_protected_resource(session: Any, server_url: str, challenges: list[Challenge]) -> dict[str, Any] | None:
    named = next((c.params["resource_metadata"] for c in challenges if c.params.get("resource_metadata")), None)
    failures: dict[str, str] = {}  # not reported: without a document, MCP's fallback applies
    for url in [named] if named else protected_resource_metadata_urls(server_url):
        check_url(url, "protected resource metadata URL")
        try:
            data = _get_json(session, url, failures)
        except _NotAnObject:
            continue  # e.g. a web app's catch-all page: look further
        if data is not None:
            return data
    return None


def fetch_authorization_server(session: Any, issuer: str) -> AuthorizationServerMetadata:
    tried = authorization_server_metadata_urls(issuer)
    malformed: list[str] = []
    failures: dict[str, str] = {}  # URL -> why nothing was read there, when it was not an HTTP status
    for url in tried:
        check_url(url, "authorization server metadata URL")
        try:
            data = _get_json(session, url, failures)
        except _NotAnObject:
            malformed.append(url)
            continue
        if data is not None:
            return parse_authorization_server(data, url)
    if malformed:
        raise DiscoveryError(f"authorization server metadata at {malformed[0]} is not a JSON object: check the server")
    attempts = ", ".join(f"{url}: {failures[url]}" if url in failures else url for url in tried)
    raise DiscoveryError(
        f"no authorization server metadata for {issuer} (tried {attempts}); "
        "set oauth.credentials.authorizationEndpoint and tokenEndpoint in the catalog entry"
    )


def parse_authorization_server(data: dict[str, Any], url: str) -> AuthorizationServerMetadata:
    def text(key: str, required: bool = False) -> str | None:
        value = data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise DiscoveryError(f"authorization server metadata {url}: {key} is missing or not a string")
        return check_url(value, key)

    def texts(key: str) -> tuple[str, ...]:
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise DiscoveryError(f"authorization server metadata {url}: {key} must be a list of strings")
        return tuple(value)

    issuer = data.get("issuer")
    return AuthorizationServerMetadata(
        issuer=issuer if isinstance(issuer, str) else "",
        authorization_endpoint=text("authorization_endpoint", True) or "",
        token_endpoint=text("token_endpoint", True) or "",
        registration_endpoint=text("registration_endpoint"),
        revocation_endpoint=text("revocation_endpoint"),
        scopes_supported=texts("scopes_supported"),
        token_endpoint_auth_methods_supported=texts("token_endpoint_auth_methods_supported"),
        code_challenge_methods_supported=texts("code_challenge_methods_supported"),
    )


def discover(session: Any, server_url: str) -> Discovery:
    """The authorization server of an MCP server and its metadata."""
    check_url(server_url, "remote server URL")
    challenges = probe(session, server_url)
    resource_metadata = fetch_protected_resource(session, server_url, challenges)
    resource = server_url
    authorization_server = origin(server_url)  # MCP's fallback when there is no RFC 9728 document
    scopes: tuple[str, ...] = ()
    if resource_metadata is not None:
        if isinstance(resource_metadata.get("resource"), str) and resource_metadata["resource"]:
            resource = resource_metadata["resource"]
        servers = resource_metadata.get("authorization_servers")
        single = resource_metadata.get("authorization_server")  # the Go plugin's non-standard key
        if isinstance(servers, list) and servers and isinstance(servers[0], str):
            authorization_server = servers[0]
        elif isinstance(single, str) and single:
            authorization_server = single
        found = resource_metadata.get("scopes_supported") or resource_metadata.get("scopes") or []
        if isinstance(found, list):
            scopes = tuple(s for s in found if isinstance(s, str))
    if not scopes:
        scopes = tuple(s for c in challenges if c.scheme.lower() == "bearer" for s in c.params.get("scope", "").split())
    check_url(authorization_server, "authorization server")
    metadata = fetch_authorization_server(session, authorization_server)
    return Discovery(resource, authorization_server, metadata, scopes)
