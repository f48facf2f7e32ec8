"""An authorization server built on the MCP Python SDK's own ``mcp.server.auth`` module.

A second, independent implementation next to oidc-provider: the SDK's routes
(``create_auth_routes``: RFC 8414 metadata, ``/authorize``, ``/token``, ``/register`` when DCR is on,
``/revoke``) in front of an in-memory ``OAuthAuthorizationServerProvider`` that consents at once
(``/authorize`` answers 302 to ``redirect_uri?code=…&state=…``). It runs with uvicorn in a
background thread on 127.0.0.1 and an ephemeral port.

What the SDK (mcp 2.3) does, and the tests can rely on:

- http issuers are accepted for ``localhost``, ``127.0.0.1`` and ``[::1]`` only (``validate_issuer_url``);
  no flag or environment variable is needed. The issuer is built through ``AuthSettings`` so that
  ``http://127.0.0.1:PORT`` keeps no trailing slash (a bare ``AnyHttpUrl`` would add one).
- PKCE S256 is mandatory (``code_challenge`` required, ``code_challenge_method`` only ``S256``).
- ``redirect_uri`` must be one of the client's ``redirect_uris`` exactly; the token request must repeat it.
- Scopes asked at ``/authorize`` must be in the client's registered ``scope`` (else a redirect with
  ``error=invalid_scope``); a DCR client that registers none gets ``scopes`` here as its default.
- ``resource`` (RFC 8707) at ``/authorize`` reaches the provider; this provider refuses one that is not
  ``resource`` (``invalid_target``) and binds tokens to it. ``resource`` at ``/token`` is parsed but
  never reaches the provider: the SDK does not check it.
- Client authentication at ``/token`` follows each client's registered ``token_endpoint_auth_method``
  exactly (``client_secret_post``, ``client_secret_basic`` or ``none``), although the metadata always
  advertises both ``client_secret_post`` and ``client_secret_basic``. A failure is HTTP 401
  ``invalid_client``. ``client_id`` must be in the form body even with Basic (else 401 "Missing client_id").
- DCR defaults ``token_endpoint_auth_method`` to ``client_secret_post`` and issues a ``client_secret``;
  with DCR off there is no ``registration_endpoint`` in the metadata and ``POST /register`` is a 404.

Every request is recorded (method, path, parameter names, auth scheme, status, OAuth error code),
never a value.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    IdentityAssertionParams,
    RefreshToken,
    RegistrationError,
    TokenError,
    construct_redirect_uri,
)
from mcp.server.auth.routes import build_metadata, create_auth_routes, create_protected_resource_routes
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from tests.servers.recording import RecordingMiddleware, RequestLog

DEFAULT_SCOPES = ("mcp:read", "mcp:write")


class InMemoryProvider:
    """An ``OAuthAuthorizationServerProvider`` that keeps clients, codes and tokens in dicts."""

    def __init__(
        self,
        *,
        access_token_lifetime: int,
        refresh_token_lifetime: int | None,
        rotate_refresh_tokens: bool,
        code_lifetime: float,
    ) -> None:
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self._refresh_for_access: dict[str, str] = {}
        self.expected_resource: str | None = None
        self.access_token_lifetime = access_token_lifetime
        self.refresh_token_lifetime = refresh_token_lifetime
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.code_lifetime = code_lifetime
        self.dcr_enabled = False

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        if not self.dcr_enabled:  # the route is absent then; this is only a second guard
            raise RegistrationError("invalid_client_metadata", "dynamic client registration is disabled")
        self.clients[client_info.client_id] = client_info

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if self.expected_resource is not None and params.resource != self.expected_resource:
            raise AuthorizeError("invalid_target", "unknown resource")
        code = secrets.token_urlsafe(32)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [],
            expires_at=time.time() + self.code_lifetime,
            client_id=client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject="user-1",
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        return self.codes.get(authorization_code)

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        self.codes.pop(authorization_code.code, None)  # a code works once
        return self._issue(client.client_id, authorization_code.scopes, authorization_code.resource, None)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        return self.refresh_tokens.get(refresh_token)

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        keep = None
        if self.rotate_refresh_tokens:
            self.refresh_tokens.pop(refresh_token.token, None)
        else:
            keep = refresh_token.token
        return self._issue(client.client_id, scopes, refresh_token.resource, keep)

    async def load_access_token(self, token: str) -> AccessToken | None:
        info = self.access_tokens.get(token)
        if info is None or (info.expires_at is not None and info.expires_at < time.time()):
            return None
        return info

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        if isinstance(token, AccessToken):
            self.access_tokens.pop(token.token, None)
            refresh = self._refresh_for_access.pop(token.token, None)
            if refresh:
                self.refresh_tokens.pop(refresh, None)
        else:
            self.refresh_tokens.pop(token.token, None)
            for access, refresh in list(self._refresh_for_access.items()):
                if refresh == token.token:
                    self.access_tokens.pop(access, None)
                    del self._refresh_for_access[access]

    async def exchange_identity_assertion(
        self, client: OAuthClientInformationFull, params: IdentityAssertionParams
    ) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "the JWT bearer grant is not supported here")

    def _issue(self, client_id: str, scopes: list[str], resource: str | None, keep_refresh: str | None) -> OAuthToken:
        now = int(time.time())
        access = f"sdk-at-{secrets.token_urlsafe(24)}"
        refresh = keep_refresh or f"sdk-rt-{secrets.token_urlsafe(24)}"
        self.access_tokens[access] = AccessToken(
            token=access,
            client_id=client_id,
            scopes=scopes,
            expires_at=now + self.access_token_lifetime,
            resource=resource,
            subject="user-1",
        )
        self.refresh_tokens[refresh] = RefreshToken(
            token=refresh,
            client_id=client_id,
            scopes=scopes,
            expires_at=None if self.refresh_token_lifetime is None else now + self.refresh_token_lifetime,
            resource=resource,
            subject="user-1",
        )
        self._refresh_for_access[access] = refresh
        return OAuthToken(
            access_token=access,
            token_type="Bearer",
            expires_in=self.access_token_lifetime,
            scope=" ".join(scopes) if scopes else None,
            refresh_token=refresh,
        )


class SdkAuthServer:
    """The SDK's authorization server on 127.0.0.1, an ephemeral port, uvicorn in a thread.

    ``clients``: pre-registered clients, dicts with ``client_id``, ``redirect_uris`` (list), optional
    ``client_secret``, ``token_endpoint_auth_method`` (default ``client_secret_post`` with a secret,
    ``none`` without), ``scope`` (default: ``scopes`` joined), ``grant_types``. ``dcr``: RFC 7591
    registration on or off. ``scopes``: ``scopes_supported`` and the default scope of DCR clients.
    ``resource``: the RFC 8707 resource the server accepts (``/authorize`` with another or none is
    refused with ``invalid_target``); a path such as ``"/mcp"`` is taken relative to the base URL;
    None accepts anything. ``protected_resource``: also serve RFC 9728 metadata for ``resource``
    (``authorization_servers`` = [issuer]) and, at the resource's path, a bare protected endpoint that
    answers 401 with ``WWW-Authenticate: Bearer resource_metadata=…`` unless it gets a valid token
    bound to the resource (then 200 JSON with ``client_id`` and ``scopes``). ``issuer_path``: e.g.
    ``"/as"`` to give the issuer a path; the SDK's routes then live under it, and the metadata is
    served both at the RFC 8414 path-inserted location ``/.well-known/oauth-authorization-server/as``
    and at the SDK's own ``/as/.well-known/oauth-authorization-server``.
    """

    def __init__(
        self,
        dcr: bool = True,
        clients: Iterable[dict[str, Any]] = (),
        *,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        resource: str | None = None,
        protected_resource: bool = False,
        issuer_path: str = "",
        revocation: bool = True,
        access_token_lifetime: int = 3600,
        refresh_token_lifetime: int | None = None,
        rotate_refresh_tokens: bool = True,
        code_lifetime: float = 300.0,
    ) -> None:
        self.dcr = dcr
        self.scopes = list(scopes)
        self._resource_arg = resource
        self.protected_resource = protected_resource
        if protected_resource and resource is None:
            raise ValueError("protected_resource needs a resource")
        self.issuer_path = "/" + issuer_path.strip("/") if issuer_path.strip("/") else ""
        self.revocation = revocation
        self.provider = InMemoryProvider(
            access_token_lifetime=access_token_lifetime,
            refresh_token_lifetime=refresh_token_lifetime,
            rotate_refresh_tokens=rotate_refresh_tokens,
            code_lifetime=code_lifetime,
        )
        self.provider.dcr_enabled = dcr
        for spec in clients:
            self.add_client(**spec)
        self.requests = RequestLog()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # --- clients and tokens ---------------------------------------------------------------------

    def add_client(
        self,
        client_id: str,
        redirect_uris: Iterable[str],
        client_secret: str | None = None,
        token_endpoint_auth_method: str | None = None,
        scope: str | None = None,
        grant_types: Iterable[str] = ("authorization_code", "refresh_token"),
    ) -> OAuthClientInformationFull:
        """Pre-register a client (works while the server runs too)."""
        method = token_endpoint_auth_method or ("client_secret_post" if client_secret else "none")
        info = OAuthClientInformationFull(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uris=list(redirect_uris),  # type: ignore[arg-type]  # pydantic parses the strings
            token_endpoint_auth_method=method,
            scope=scope if scope is not None else " ".join(self.scopes),
            grant_types=list(grant_types),
            client_id_issued_at=int(time.time()),
        )
        self.provider.clients[client_id] = info
        return info

    @property
    def registered_clients(self) -> list[OAuthClientInformationFull]:
        return list(self.provider.clients.values())

    def token_info(self, access_token: str) -> AccessToken | None:
        """The grant behind a live access token (client_id, scopes, resource, expires_at), else None."""
        info = self.provider.access_tokens.get(access_token)
        if info is None or (info.expires_at is not None and info.expires_at < time.time()):
            return None
        return info

    def revoke_refresh_tokens(self) -> None:
        """Forget every refresh token: a refresh then answers 400 invalid_grant."""
        self.provider.refresh_tokens.clear()

    # --- addresses ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("the SDK authorization server is not running")
        return f"http://127.0.0.1:{self._port}"

    @property
    def issuer(self) -> str:
        return self.base_url + self.issuer_path

    @property
    def metadata_url(self) -> str:
        """RFC 8414 metadata at its standard (path-inserted) location."""
        return f"{self.base_url}/.well-known/oauth-authorization-server{self.issuer_path}"

    @property
    def authorize_url(self) -> str:
        return self.issuer + "/authorize"

    @property
    def token_url(self) -> str:
        return self.issuer + "/token"

    @property
    def registration_url(self) -> str:
        return self.issuer + "/register"

    @property
    def revocation_url(self) -> str:
        return self.issuer + "/revoke"

    @property
    def resource(self) -> str | None:
        """The absolute RFC 8707 resource this server expects, or None."""
        arg = self._resource_arg
        if arg is None:
            return None
        return self.base_url + arg if arg.startswith("/") else arg

    @property
    def resource_metadata_url(self) -> str:
        resource = self.resource
        if resource is None:
            raise RuntimeError("no resource configured")
        path = urlsplit(resource).path.rstrip("/")
        return f"{self.base_url}/.well-known/oauth-protected-resource{path}"

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> SdkAuthServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        self.provider.expected_resource = self.resource
        app = RecordingMiddleware(self._build_app(), self.requests)
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="sdk-auth-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise RuntimeError("the SDK authorization server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError("the SDK authorization server did not stop")
        self._server = None
        self._thread = None

    def __enter__(self) -> SdkAuthServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _build_app(self) -> Starlette:
        settings = AuthSettings(  # through AuthSettings: an issuer without a path keeps no trailing slash
            issuer_url=self.issuer,  # type: ignore[arg-type]
            resource_server_url=None,
            client_registration_options=ClientRegistrationOptions(
                enabled=self.dcr, valid_scopes=self.scopes, default_scopes=self.scopes
            ),
            revocation_options=RevocationOptions(enabled=self.revocation),
        )
        assert settings.client_registration_options is not None and settings.revocation_options is not None
        auth_routes = create_auth_routes(
            provider=self.provider,
            issuer_url=settings.issuer_url,
            client_registration_options=settings.client_registration_options,
            revocation_options=settings.revocation_options,
        )
        routes: list[BaseRoute] = []
        if self.issuer_path:
            metadata = build_metadata(
                settings.issuer_url, None, settings.client_registration_options, settings.revocation_options
            )
            routes.append(
                Route(
                    f"/.well-known/oauth-authorization-server{self.issuer_path}",
                    endpoint=MetadataHandler(metadata).handle,
                    methods=["GET"],
                )
            )
            routes.append(Mount(self.issuer_path, routes=list(auth_routes)))
        else:
            routes.extend(auth_routes)
        resource = self.resource
        if self.protected_resource and resource is not None:
            routes.extend(
                create_protected_resource_routes(
                    resource_url=resource,  # type: ignore[arg-type]
                    authorization_servers=[settings.issuer_url],
                    scopes_supported=self.scopes,
                )
            )
            path = urlsplit(resource).path or "/"
            routes.append(Route(path, endpoint=self._protected_endpoint, methods=["GET", "POST"]))
        return Starlette(routes=routes)

    async def _protected_endpoint(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        info = await self.provider.load_access_token(token) if token else None
        if info is None or info.resource != self.resource:
            challenge = f'Bearer resource_metadata="{self.resource_metadata_url}"'
            if token:
                challenge += ', error="invalid_token"'
            return JSONResponse({"error": "invalid_token"}, status_code=401, headers={"WWW-Authenticate": challenge})
        return JSONResponse({"ok": True, "client_id": info.client_id, "scopes": info.scopes})
