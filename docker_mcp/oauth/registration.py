"""RFC 7591 dynamic client registration, for servers whose catalog entry has no pre-registered client.
A client_secret the server issues is kept (the Go plugin throws it away)."""

from __future__ import annotations

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


def register(
    session: Any, server: str, discovery: Discovery, redirect_uri: str, scopes: tuple[str, ...]
) -> ClientRecord:
    """RFC 7591 §3.1: register a client for `server` at the discovered registration endpoint, for
    `redirect_uri` (loopback: `application_type` "native", SEP-837) and `scopes`; a public client where
    the server allows `none`. Returns the DCR client record (not stored), bound to the discovered
    authorization server (SEP-2352). Raises RegistrationError: no registration endpoint, a refusal
    (HTTP status and the server's reason), no `client_id`; OAuthError for an endpoint check_url refuses."""
    endpoint = discovery.metadata.registration_endpoint
    if not endpoint:
        raise RegistrationError(
            f"the authorization server of {server} ({discovery.authorization_server}) offers no dynamic client "
            "registration: add a pre-registered client (oauth.credentials with clientId) to its catalog entry"
        )
    check_url(endpoint, "registration endpoint")
    body: dict[str, Any] = {
        "client_name": f"docker-mcp - {server}",
        "redirect_uris": [redirect_uri],
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
        raise RegistrationError(
            f"dynamic client registration for {server} failed with HTTP {response.status_code}: {_reason(response)}"
        )
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
