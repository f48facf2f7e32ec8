"""Discovery: RFC 9728 protected-resource metadata, then RFC 8414 authorization-server metadata with the
OpenID Connect fallback. The URL builders are pure functions; the fetchers take the HTTP session."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import untrusted_text
from ..output import redact_credentials
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
    authorization_response_iss_parameter_supported: bool = False  # RFC 9207 §3: `iss` in every response
    # MCP authorization spec 2025-11-25, Client ID Metadata Documents: an https URL may be the client_id
    client_id_metadata_document_supported: bool = False


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


def metadata_issuer_matches(issuer: object, expected: str, from_server_url: bool = False) -> bool:
    """RFC 8414 §3.3 (and OpenID Connect Discovery §4.3): the metadata's `issuer` must be identical to
    the issuer identifier its well-known URL was built from, by simple string comparison.
    `from_server_url`: that identifier is the MCP server URL's origin, MCP's fallback when no
    protected-resource document names an authorization server; `https://h/` then names the same server
    as `https://h` (the well-known URL is the same for both)."""
    if not isinstance(issuer, str) or not issuer:
        return False
    return issuer == expected or (from_server_url and same_issuer(issuer, expected))


def same_issuer(a: str, b: str) -> bool:
    """Whether two issuer identifiers name one authorization server: identical strings (RFC 8414 §3.3),
    or an origin with and without its trailing slash. SEP-2352 binds a registered client to one."""
    if a == b:
        return True
    shorter, longer = sorted((a, b), key=len)
    return longer == shorter + "/" and shorter == origin(shorter)


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


def probe(session: Any, server_url: str) -> tuple[list[Challenge], bool]:
    """The challenges of the MCP server's 401 (RFC 6750 §3, RFC 9728 §5.1): it is asked to `initialize`
    without a token, and, when it answers without a challenge (a server may authorize per method), to
    `tools/list`. Returns (the challenges, whether either answered 401); [] when neither names a challenge,
    or the URL redirects (the well-known URLs come next). Raises DiscoveryError when the server cannot be
    reached or answers beyond the bounds."""
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "docker-mcp", "version": "1"},
        },
    }
    headers = {"Accept": "application/json, text/event-stream"}
    response = _post(session, server_url, initialize, headers)
    if response is None:
        return [], False
    challenges = parse_www_authenticate(response.headers.get("WWW-Authenticate", ""))
    if challenges or response.status_code == 401:
        return challenges, response.status_code == 401
    session_id = response.headers.get("Mcp-Session-Id")
    if session_id:
        headers["Mcp-Session-Id"] = session_id
    headers["MCP-Protocol-Version"] = "2025-06-18"
    try:  # a second look only: its failure leaves discovery to the well-known URLs
        response = _post(session, server_url, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers)
    except DiscoveryError:
        return [], False
    if response is None:
        return [], False
    return parse_www_authenticate(response.headers.get("WWW-Authenticate", "")), response.status_code == 401


def _post(session: Any, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    """The response to a probe; None for a redirect."""
    from ..bounded_http import ResponseRefused

    try:
        return session.post(url, json=body, headers=dict(headers), json_only=True)  # an event stream: unread
    except ResponseRefused as e:
        if e.kind == "redirect":
            return None  # e.g. a trailing-slash redirect: no challenge here, the well-known URLs are next
        raise DiscoveryError(f"cannot use {url}: it {e.reason}") from None
    except Exception as e:
        raise DiscoveryError(f"cannot reach {url}: {describe_failure(e)}") from None


class MetadataNotFound(DiscoveryError):
    """No authorization server metadata at any of its well-known URLs (nothing there, not something wrong)."""


class _NotAnObject(Exception):
    """The URL answered 200, but not with a JSON object."""


def _get_json(session: Any, url: str, failures: dict[str, str]) -> dict[str, Any] | None:
    """The JSON object at `url`; None when nothing is there: an HTTP error status, a body whose
    Content-Type is not JSON (never read), or a failure (why is recorded in `failures`); _NotAnObject
    when something else is. A URL that stalls past the deadline or answers more than the cap ends
    discovery with a DiscoveryError naming it."""
    from ..bounded_http import ResponseRefused

    try:
        response = session.get(url, headers={"Accept": "application/json"}, json_only=True)
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
    if getattr(response, "body_skipped", False):  # e.g. an endless text/event-stream, or an HTML page: unread
        media_type = untrusted_text(response.headers.get("Content-Type", "").split(";")[0], limit=60) or "?"
        failures[url] = f"answered {media_type}, not JSON"
        return None
    try:
        data = response.json()
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise _NotAnObject(url)
    return data


def fetch_protected_resource(
    session: Any, server_url: str, challenges: list[Challenge], failures: dict[str, str] | None = None
) -> tuple[str, dict[str, Any]] | None:
    """RFC 9728 §3.1: the protected-resource document of the MCP server, as (the URL it came from, the
    JSON object): at the challenge's `resource_metadata` URL, else at protected_resource_metadata_urls.
    None when there is none (MCP's fallback applies then); `failures` (URL -> why) gets the URLs where
    one may be but was not read: a redirect, no connection, an answer that is not a JSON object. Raises
    DiscoveryError when a URL stalls or answers too much, OAuthError for a URL check_url refuses. Its
    `resource` is not checked here."""
    named = next((c.params["resource_metadata"] for c in challenges if c.params.get("resource_metadata")), None)
    failures = {} if failures is None else failures
    for url in [named] if named else protected_resource_metadata_urls(server_url):
        check_url(url, "protected resource metadata URL")
        try:
            data = _get_json(session, url, failures)
        except _NotAnObject:
            failures[url] = "not a JSON object"
            continue  # e.g. a web app's catch-all page: look further
        if data is not None:
            return url, data
    return None


def fetch_authorization_server(session: Any, issuer: str, from_server_url: bool = False) -> AuthorizationServerMetadata:
    """The RFC 8414 metadata of the authorization server `issuer` (the protected resource's
    `authorization_servers[0]`), tried at each of authorization_server_metadata_urls. The first JSON
    object found must name `issuer` as its `issuer` (RFC 8414 §3.3; `from_server_url`: see
    metadata_issuer_matches), else it is not used. Raises MetadataNotFound (a DiscoveryError naming each
    URL tried) when every URL answered that nothing is there (an HTTP error status, or a body that is not
    JSON); DiscoveryError for nothing found where a URL redirected or could not be reached, an answer
    that is not a JSON object, another issuer, a metadata key of the wrong type; and OAuthError for an
    endpoint that check_url refuses."""
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
            if not metadata_issuer_matches(data.get("issuer"), issuer, from_server_url):
                raise DiscoveryError(_issuer_mismatch(data.get("issuer"), issuer, url))
            return parse_authorization_server(data, url)
    if malformed:
        raise DiscoveryError(f"authorization server metadata at {malformed[0]} is not a JSON object: check the server")
    attempts = ", ".join(f"{url}: {failures[url]}" if url in failures else url for url in tried)
    # a URL that redirects or cannot be reached may hold metadata: only plain absence is "not found"
    error = DiscoveryError if failures else MetadataNotFound
    raise error(
        f"no authorization server metadata for {issuer} (tried {attempts}); "
        "set oauth.credentials.authorizationEndpoint and tokenEndpoint in the catalog entry"
    )


def _resource_mismatch(resource: str, server_url: str, document_url: str) -> str:
    shown = untrusted_text(resource, limit=120) or "?"
    return (
        f'the protected resource metadata at {document_url} is for "{shown}", not for {redact_credentials(server_url)} '
        "(RFC 9728 §3.3: the same origin, and a path prefix of the URL), so it is not trusted: check remote.url "
        "in the catalog entry"
    )


def _issuer_mismatch(found: object, issuer: str, url: str) -> str:
    named = untrusted_text(found, limit=120) if isinstance(found, str) and found else None
    what = f'names the issuer "{named}"' if named is not None else "has no issuer"
    return (
        f"authorization server metadata at {url} {what}, not {issuer}, the issuer it was fetched for "
        "(RFC 8414 §3.3), so it is not used: check the authorization server the MCP server names, or set "
        "oauth.credentials.authorizationEndpoint and tokenEndpoint in the catalog entry"
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
        # RFC 8414 §2: required unless no grant type the server supports uses it (client_credentials only)
        authorization_endpoint=text("authorization_endpoint") or "",
        token_endpoint=text("token_endpoint", True) or "",
        registration_endpoint=text("registration_endpoint"),
        revocation_endpoint=text("revocation_endpoint"),
        scopes_supported=texts("scopes_supported"),
        token_endpoint_auth_methods_supported=texts("token_endpoint_auth_methods_supported"),
        code_challenge_methods_supported=texts("code_challenge_methods_supported"),
        authorization_response_iss_parameter_supported=data.get("authorization_response_iss_parameter_supported")
        is True,
        client_id_metadata_document_supported=data.get("client_id_metadata_document_supported") is True,
    )


def discover(session: Any, server_url: str) -> Discovery:
    """The authorization server of the MCP server at `server_url` and its metadata: a 401 challenge,
    the RFC 9728 protected-resource document, then the RFC 8414 metadata of its `authorization_servers[0]`
    (else of the server URL's origin). A document whose `resource` does not cover `server_url` (RFC 9728
    §3.3: same origin, and its path a prefix of the URL's on a segment boundary) is not trusted; metadata
    naming another `issuer` is not used (RFC 8414 §3.3). The 2025-03-26 default endpoints
    (default_endpoints) only for a server that answered 401, named no protected-resource document, has
    none at any well-known URL (each answered an HTTP error or a body that is not JSON) and no metadata
    at its origin: where a document may exist but was not read, the error says why. Raises DiscoveryError
    (one line, naming what was expected and found) or OAuthError (a URL check_url refuses)."""
    check_url(server_url, "remote server URL")
    challenges, unauthorized = probe(session, server_url)
    unread: dict[str, str] = {}
    found = fetch_protected_resource(session, server_url, challenges, unread)
    resource = server_url
    authorization_server = origin(server_url)  # MCP's fallback when there is no RFC 9728 document
    named = False  # whether a protected-resource document named the authorization server
    resource_metadata: dict[str, Any] | None = None
    if found is not None:
        document_url, resource_metadata = found
        if isinstance(resource_metadata.get("resource"), str) and resource_metadata["resource"]:
            resource = resource_metadata["resource"]
            if not resource_covers(resource, server_url):
                raise DiscoveryError(_resource_mismatch(resource, server_url, document_url))
        servers = resource_metadata.get("authorization_servers")
        single = resource_metadata.get("authorization_server")  # the Go plugin's non-standard key
        if isinstance(servers, list) and servers and isinstance(servers[0], str):
            authorization_server, named = servers[0], True
        elif isinstance(single, str) and single:
            authorization_server, named = single, True
    check_url(authorization_server, "authorization server")
    try:
        metadata = fetch_authorization_server(session, authorization_server, from_server_url=not named)
    except MetadataNotFound as e:
        named_document = any(c.params.get("resource_metadata") for c in challenges)
        if found is None and not named_document and not unread and not unauthorized:
            raise DiscoveryError(  # it may not use OAuth at all
                f"{redact_credentials(server_url)} answered without asking for an authorization (no HTTP 401), and {e}"
            ) from None
        if found is not None or named_document or unread:
            raise  # a document exists (or may: it was not read)
        metadata = default_endpoints(authorization_server)
    return Discovery(resource, authorization_server, metadata, select_scopes(challenges, resource_metadata))


def default_endpoints(server_origin: str) -> AuthorizationServerMetadata:
    """MCP spec 2025-03-26, Authorization, "Fallbacks for Servers without Metadata Discovery": with no
    protected-resource document and no metadata at the MCP server's origin, `<origin>/authorize`,
    `<origin>/token` and `<origin>/register`. No issuer is known (`issuer` ""), so an authorization
    response's `iss` is not checked (flow.expected_issuer)."""
    base = origin(server_origin)
    return AuthorizationServerMetadata(
        issuer="",
        authorization_endpoint=check_url(base + "/authorize", "authorization endpoint"),
        token_endpoint=check_url(base + "/token", "token endpoint"),
        registration_endpoint=check_url(base + "/register", "registration endpoint"),
    )


def select_scopes(challenges: list[Challenge], resource_metadata: dict[str, Any] | None) -> tuple[str, ...]:
    """MCP's scope selection strategy (authorization spec 2025-11-25 and later): the `scope` of the
    401's Bearer challenge (RFC 6750 §3), else the protected-resource document's `scopes_supported` (or
    the Go plugin's non-standard `scopes`), else none, and the authorization request has no `scope`.
    The catalog's `oauth.scopes` and `--scopes` come before all of these (flow.py)."""
    challenged = [s for c in challenges if c.scheme.lower() == "bearer" for s in c.params.get("scope", "").split()]
    if challenged:
        return tuple(dict.fromkeys(challenged))
    listed = (resource_metadata or {}).get("scopes_supported") or (resource_metadata or {}).get("scopes") or []
    return tuple(s for s in listed if isinstance(s, str)) if isinstance(listed, list) else ()
