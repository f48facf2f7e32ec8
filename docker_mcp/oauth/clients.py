"""OAuth client records: where a client came from (pre-registered in the catalog, or dynamic
registration) and what the flow needs to use it. Stored as the Go plugin stores its DCR clients
(`https://<server>.mcp-dcr`, username `dcr_client`, base64 JSON), plus the fields we add.

A pre-registered record holds the NAME of the client secret (`clientSecretRef`), never its value; a
secret a server issued at registration has nowhere else to live and is stored as `clientSecret`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..secrets.store import CredentialStore
from .errors import OAuthError

DCR = "dcr"
PRE_REGISTERED = "pre-registered"
CIMD = "cimd"  # the client_id is the URL of the catalog's client ID metadata document (oauth.clientMetadataUrl)
USERNAME = "dcr_client"


def client_key(server: str) -> str:
    return f"https://{server}.mcp-dcr"


@dataclass(frozen=True)
class ClientRecord:
    server_name: str
    client_type: str  # DCR | PRE_REGISTERED | CIMD
    client_id: str
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    redirect_uri: str = ""  # the one this plugin authorizes with (the Go plugin's record: its own)
    resource_url: str = ""
    authorization_server: str = ""
    revocation_endpoint: str = ""
    scopes: tuple[str, ...] = ()
    scopes_supported: tuple[str, ...] = ()
    token_endpoint_auth_method: str = ""  # "" until known (detected at the first token request)
    client_secret_ref: str = ""  # pre-registered: the secret's name
    client_secret: str = field(default="", repr=False)  # DCR: what the server issued
    client_name: str = ""
    registered_at: str = ""
    challenged_scopes: tuple[str, ...] = ()  # a 403 insufficient_scope asked for these: the next authorize adds them
    # RFC 7592 §2: where (and with what bearer token) the registration can be read; DCR clients only
    registration_client_uri: str = ""
    registration_access_token: str = field(default="", repr=False)
    # "" (authorization_code) or "client_credentials" (SEP-1046: new tokens without a browser, no refresh token)
    grant_type: str = ""
    # private_key_jwt: the assertion's JWS alg (RFC 7591 token_endpoint_auth_signing_alg); clientSecretRef then
    # names the secret holding the private key
    token_endpoint_auth_signing_alg: str = ""
    # DCR: every redirect URI the client was registered with (ours and, when the server took it, the Go
    # plugin's); a Go plugin record has only `redirectUri` and reads as the list of that one
    redirect_uris: tuple[str, ...] = ()

    @property
    def has_secret(self) -> bool:
        return bool(self.client_secret_ref or self.client_secret)

    def accepts_redirect_uri(self, uri: str) -> bool:
        """Whether the client was registered with `uri` (RFC 7591 §2 `redirect_uris`): the authorization
        server then accepts an authorization request for it with that redirect URI."""
        return uri in (self.redirect_uris or (self.redirect_uri,))

    def with_auth_method(self, method: str) -> ClientRecord:
        return replace(self, token_endpoint_auth_method=method)

    def to_json(self) -> dict[str, Any]:
        """The Go plugin's DCR record keys, then ours; empty values left out as it does. Go's keys keep
        the types its decoder wants (docker/mcp-gateway@2bd20fe8 pkg/oauth/dcr/credentials.go:23-36,
        `Client`): strings, `[]string` lists, and `registeredAt` RFC 3339 with the UTC offset, which Go's
        encoding/json reads into a time.Time. Ours (`redirectUris`, `clientType`, ...) match none of
        Go's keys, not even ignoring case as encoding/json does, so Go ignores them."""
        data = {
            "authorizationEndpoint": self.authorization_endpoint,
            "authorizationServer": self.authorization_server,
            "clientId": self.client_id,
            "clientName": self.client_name or f"docker-mcp - {self.server_name}",
            "providerName": self.server_name,
            "redirectUri": self.redirect_uri,
            "registeredAt": self.registered_at or datetime.now().astimezone().isoformat(),
            "requiredScopes": list(self.scopes),
            "resourceUrl": self.resource_url,
            "scopesSupported": list(self.scopes_supported),
            "serverName": self.server_name,
            "tokenEndpoint": self.token_endpoint,
            "clientType": self.client_type,
            "redirectUris": list(self.redirect_uris),
            "tokenEndpointAuthMethod": self.token_endpoint_auth_method,
            "clientSecretRef": self.client_secret_ref,
            "clientSecret": self.client_secret,
            "revocationEndpoint": self.revocation_endpoint,
            "challengedScopes": list(self.challenged_scopes),
            "registrationClientUri": self.registration_client_uri,
            "registrationAccessToken": self.registration_access_token,
            "grantType": "" if self.grant_type == "authorization_code" else self.grant_type,
            "tokenEndpointAuthSigningAlg": self.token_endpoint_auth_signing_alg,
        }
        keep = {"clientId", "providerName", "serverName", "registeredAt", "clientName", "clientType"}
        return {k: v for k, v in data.items() if v or k in keep}

    @classmethod
    def from_json(cls, server: str, data: dict[str, Any]) -> ClientRecord:
        def s(key: str) -> str:
            value = data.get(key)
            return value if isinstance(value, str) else ""

        def t(key: str) -> tuple[str, ...]:
            value = data.get(key)
            return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

        return cls(
            server_name=s("serverName") or server,
            client_type=s("clientType") or DCR,  # a Go plugin record is a DCR client
            client_id=s("clientId"),
            authorization_endpoint=s("authorizationEndpoint"),
            token_endpoint=s("tokenEndpoint"),
            redirect_uri=s("redirectUri"),
            redirect_uris=t("redirectUris") or ((s("redirectUri"),) if s("redirectUri") else ()),
            resource_url=s("resourceUrl"),
            authorization_server=s("authorizationServer"),
            revocation_endpoint=s("revocationEndpoint"),
            scopes=t("requiredScopes"),
            scopes_supported=t("scopesSupported"),
            token_endpoint_auth_method=s("tokenEndpointAuthMethod"),
            client_secret_ref=s("clientSecretRef"),
            client_secret=s("clientSecret"),
            client_name=s("clientName"),
            registered_at=s("registeredAt"),
            challenged_scopes=t("challengedScopes"),
            registration_client_uri=s("registrationClientUri"),
            registration_access_token=s("registrationAccessToken"),
            grant_type=s("grantType"),
            token_endpoint_auth_signing_alg=s("tokenEndpointAuthSigningAlg"),
        )


def load_client(store: CredentialStore, server: str) -> ClientRecord | None:
    found = store.get(client_key(server))
    if found is None:
        return None
    try:
        data = json.loads(base64.b64decode(found.secret))
    except (binascii.Error, ValueError):
        raise OAuthError(
            f"the stored OAuth client for {server} is unreadable: run 'docker mcp oauth revoke {server}', then authorize again"
        ) from None
    if not isinstance(data, dict):
        raise OAuthError(f"the stored OAuth client for {server} is unreadable: run 'docker mcp oauth revoke {server}'")
    return ClientRecord.from_json(server, data)


def save_client(store: CredentialStore, record: ClientRecord) -> None:
    encoded = base64.b64encode(json.dumps(record.to_json()).encode()).decode()
    store.put(client_key(record.server_name), USERNAME, encoded)


def delete_client(store: CredentialStore, server: str) -> bool:
    return store.delete(client_key(server))


def stored_client_servers(store: CredentialStore) -> list[str]:
    prefix, suffix = "https://", ".mcp-dcr"
    return sorted(k[len(prefix) : -len(suffix)] for k, u in store.list(prefix, suffix).items() if u == USERNAME)


def add_challenged_scopes(store: CredentialStore, server: str, scopes: tuple[str, ...]) -> bool:
    """Remember the scopes a server's 403 `insufficient_scope` challenge (RFC 6750 §3.1) asked for, so
    that the next `oauth authorize` asks for them with those asked for before (MCP authorization spec,
    scope challenge handling; SEP-2350). False when the server has no client record."""
    record = load_client(store, server)
    if record is None:
        return False
    wanted = tuple(dict.fromkeys((*record.challenged_scopes, *scopes)))
    if wanted != record.challenged_scopes:
        save_client(store, replace(record, challenged_scopes=wanted))
    return True
