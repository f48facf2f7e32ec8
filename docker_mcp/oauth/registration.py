"""RFC 7591 dynamic client registration, for servers whose catalog entry has no pre-registered client.
A client_secret the server issues is kept (the Go plugin throws it away). The client is registered for
Docker's Go plugin's redirect URI too, so that the one stored client serves both plugins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ..errors import untrusted_text
from .clients import CIMD, DCR, ClientRecord
from .discovery import Discovery
from .errors import RegistrationError
from .http import check_url, describe_failure


def requested_auth_method(advertised: tuple[str, ...]) -> str:
    """A public client (PKCE only) where the server allows it, else a confidential one."""
    if not advertised or "none" in advertised:
        return "none"
    return "client_secret_basic" if "client_secret_basic" in advertised else "client_secret_post"


_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def application_type(redirect_uri: str) -> str:
    """SEP-837 (OpenID Connect Dynamic Client Registration §2 `application_type`): "native" for a client
    whose redirect URI is http on a loopback host, as this command-line client's always is; else "web"."""
    parts = urlsplit(redirect_uri)
    return "native" if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS else "web"


# The Go plugin's redirect URI in CE mode (docker/mcp-gateway@2bd20fe8 pkg/oauth/manager.go:16
# DefaultRedirectURI): Docker's page there hands the code to the Go plugin's own loopback callback
GO_PLUGIN_REDIRECT_URI = "https://mcp.docker.com/oauth/callback"
# RFC 7591 §3.2.2: the answers that say the server does not take these redirect URIs
REFUSED_REDIRECT_ERRORS = ("invalid_redirect_uri", "invalid_client_metadata")


def register(
    session: Any,
    server: str,
    discovery: Discovery,
    redirect_uri: str,
    scopes: tuple[str, ...],
    out: Callable[[str], None] = lambda line: None,
) -> ClientRecord:
    """RFC 7591 §3.1: register a client for `server` at the discovered registration endpoint, with
    `scopes`, and a public client where the server allows `none`. Returns the DCR client record (not
    stored), bound to the discovered authorization server (SEP-2352).

    One client serves this plugin and Docker's Go plugin, which share the stored record
    (`https://<server>.mcp-dcr`) and token: `redirect_uris` (RFC 7591 §2 allows several) lists
    `redirect_uri` (ours, on loopback) and GO_PLUGIN_REDIRECT_URI, which the Go plugin always authorizes
    with — it reuses any stored client (docker/mcp-gateway@2bd20fe8 pkg/oauth/manager.go:43-55
    EnsureDCRClient). The record's `redirect_uris` keeps what the server took.

    `application_type` is "native" for a loopback `redirect_uri` (SEP-837), also with the https URI in
    the list: both plugins run on the user's machine, and Docker's https page is a claimed-https redirect
    in RFC 8252 §7.2's sense. oidc-provider's native rule (lib/helpers/client_schema.js) takes exactly
    that mix: http on a loopback host, https elsewhere. Not "web": a web client loses RFC 8252 §7.3's
    loopback matching on any port, and many servers refuse http redirect URIs for web clients. A server
    that reads OpenID Connect Dynamic Client Registration §2 strictly (a native client registers loopback
    http or custom-scheme URIs only), or that refuses https://mcp.docker.com outright, answers HTTP 400
    `invalid_redirect_uri` / `invalid_client_metadata`: then `redirect_uri` alone is registered, and
    `out` gets one line saying so (such a server cannot serve the Go plugin anyway).

    Raises RegistrationError: no registration endpoint, a refusal (HTTP status and the server's reason),
    no `client_id`; OAuthError for an endpoint check_url refuses."""
    endpoint = discovery.metadata.registration_endpoint
    if not endpoint:
        raise RegistrationError(
            f"the authorization server of {server} ({discovery.authorization_server}) offers no dynamic client "
            "registration: add a pre-registered client (oauth.credentials with clientId) to its catalog entry"
        )
    check_url(endpoint, "registration endpoint")
    if redirect_uri == GO_PLUGIN_REDIRECT_URI:
        return _register(session, server, discovery, endpoint, (redirect_uri,), scopes)
    try:
        return _register(session, server, discovery, endpoint, (redirect_uri, GO_PLUGIN_REDIRECT_URI), scopes)
    except _RedirectUrisRefused as e:
        out(
            f"The authorization server refused the redirect URI {GO_PLUGIN_REDIRECT_URI} of Docker's Go plugin "
            f"({e.reason}): registering a client for {redirect_uri} alone, which that plugin cannot use"
        )
    return _register(session, server, discovery, endpoint, (redirect_uri,), scopes)


class _RedirectUrisRefused(RegistrationError):
    """HTTP 400 with one of REFUSED_REDIRECT_ERRORS: the server does not take these redirect URIs."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _register(
    session: Any,
    server: str,
    discovery: Discovery,
    endpoint: str,
    redirect_uris: tuple[str, ...],
    scopes: tuple[str, ...],
) -> ClientRecord:
    """One registration request for `redirect_uris` (ours first); see register."""
    redirect_uri = redirect_uris[0]
    body: dict[str, Any] = {
        "client_name": f"docker-mcp - {server}",
        "redirect_uris": list(redirect_uris),
        "token_endpoint_auth_method": requested_auth_method(discovery.metadata.token_endpoint_auth_methods_supported),
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "application_type": application_type(redirect_uri),
    }
    if scopes:
        body["scope"] = " ".join(scopes)
    try:
        response = session.post(endpoint, json=body, headers={"Accept": "application/json"})
    except Exception as e:
        raise RegistrationError(f"dynamic client registration for {server} failed: {describe_failure(e)}") from None
    if response.status_code not in (200, 201):
        reason = _reason(response)
        message = f"dynamic client registration for {server} failed with HTTP {response.status_code}: {reason}"
        if response.status_code == 400 and len(redirect_uris) > 1 and _error(response) in REFUSED_REDIRECT_ERRORS:
            raise _RedirectUrisRefused(message, reason)
        raise RegistrationError(message)
    try:
        data = response.json()
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("client_id"), str) or not data["client_id"]:
        raise RegistrationError(f"dynamic client registration for {server} returned no client_id")
    secret = data.get("client_secret") if isinstance(data.get("client_secret"), str) else ""
    management = {k: data[k] for k in _MANAGEMENT_KEYS if isinstance(data.get(k), str)}  # RFC 7592 §3
    method = data.get("token_endpoint_auth_method")
    if not isinstance(method, str):
        method = body["token_endpoint_auth_method"]
    if method != "none" and not secret:
        method = "none"
    return ClientRecord(
        server_name=server,
        client_type=DCR,
        client_id=data["client_id"],
        client_secret=secret or "",
        token_endpoint_auth_method=method,
        authorization_endpoint=discovery.metadata.authorization_endpoint,
        token_endpoint=discovery.metadata.token_endpoint,
        revocation_endpoint=discovery.metadata.revocation_endpoint or "",
        authorization_server=discovery.authorization_server,
        redirect_uri=redirect_uri,
        redirect_uris=redirect_uris,
        resource_url=discovery.resource,
        scopes=scopes,
        scopes_supported=discovery.metadata.scopes_supported,
        client_name=body["client_name"],
        registered_at=datetime.now().astimezone().isoformat(),
        registration_client_uri=management.get("registration_client_uri", ""),
        registration_access_token=management.get("registration_access_token", ""),
    )


_MANAGEMENT_KEYS = ("registration_client_uri", "registration_access_token")
FORGOTTEN_STATUSES = (401, 403, 404)  # RFC 7592 §2.1: a client that no longer exists is answered 401


def still_registered(session: Any, record: ClientRecord) -> bool:
    """Whether the authorization server still knows a registered client, asked where RFC 7592 §2.1 says:
    GET its `registration_client_uri` with its `registration_access_token` as a bearer token. False only
    when the server answers 401, 403 or 404 (a server that keeps registrations in memory forgets them when
    it restarts); True without the two values (a server without RFC 7592), for a URI check_url refuses,
    and for any other answer or failure (the authorization then goes on, and says what fails). The
    request is bounded as `session`'s are; its body is never read (json_only, and not used)."""
    uri, token = record.registration_client_uri, record.registration_access_token
    if not (uri and token):
        return True
    try:
        check_url(uri, "registration client URI")
        response = session.get(uri, headers={"Authorization": f"Bearer {token}"}, json_only=True)
    except Exception:
        return True
    return response.status_code not in FORGOTTEN_STATUSES


def metadata_document_client(
    server: str, url: str, discovery: Discovery, redirect_uri: str, scopes: tuple[str, ...]
) -> ClientRecord:
    """The client whose client_id is `url`, the catalog's client ID metadata document (MCP authorization
    spec 2025-11-25, Client ID Metadata Documents; draft-ietf-oauth-client-id-metadata-document): nothing
    is registered — the authorization server fetches the document itself — and the client is public
    (token endpoint auth method `none`). The `redirect_uri` must be one the document lists. Returns the
    record (not stored), bound to the discovered authorization server like a DCR client (SEP-2352)."""
    metadata = discovery.metadata
    return ClientRecord(
        server_name=server,
        client_type=CIMD,
        client_id=url,
        token_endpoint_auth_method="none",
        authorization_endpoint=metadata.authorization_endpoint,
        token_endpoint=metadata.token_endpoint,
        revocation_endpoint=metadata.revocation_endpoint or "",
        authorization_server=discovery.authorization_server,
        redirect_uri=redirect_uri,
        resource_url=discovery.resource,
        scopes=scopes,
        scopes_supported=metadata.scopes_supported,
        registered_at=datetime.now().astimezone().isoformat(),
    )


def _error(response: Any) -> str:
    """The RFC 7591 §3.2.2 `error` code of a refusal, "" when there is none."""
    try:
        data = response.json()
    except (ValueError, RecursionError):
        return ""
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, str) else ""


def _reason(response: Any) -> str:
    try:
        data = response.json()
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        for key in ("error_description", "error", "message"):
            if isinstance(data.get(key), str) and data[key]:
                return untrusted_text(data[key]) or "no reason given"
    return untrusted_text(response.text) or untrusted_text(response.reason or "") or "no reason given"
