"""OAuth in Docker Desktop mode: which servers Desktop authorizes, and authorize, revoke and list
through its /apps API as the Go plugin does (go-plugin-oauth.md §1.2, §7, §8.4). Desktop runs dynamic
client registration, PKCE, the browser step and token storage itself; a server with a pre-registered
client in the catalog always uses the local flow (flow.py), which Desktop cannot do. The gateway reads
the tokens Desktop holds from the Secrets Engine (DesktopTokens)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..catalog.schema import Server
from ..desktop.api import DesktopClient, DesktopError, OAuthApp
from ..desktop.secrets_engine import SecretsEngineClient, SecretsEngineError
from .clients import PRE_REGISTERED
from .errors import NotAuthorizedError, OAuthError
from .flow import Authorization
from .tokens import REFRESH_MARGIN_SECONDS, Token, expired_message, not_authorized_message

Print = Callable[[str], None]
DESKTOP = "desktop"  # the clientType of an app whose client Desktop manages


def desktop_authorizes(server: Server | None, stored_client_type: str | None = None) -> bool:
    """In Desktop mode: whether Desktop runs this server's OAuth. A server no configured catalog has is
    left to Desktop (its own catalog may know it) unless the local store holds a pre-registered client
    for it; a pre-registered client is the local flow's; a local server without OAuth providers has no
    OAuth at all (the local flow says so)."""
    if server is None:
        return stored_client_type != PRE_REGISTERED
    if server.oauth is not None and server.oauth.credentials is not None:
        return False
    return server.type == "remote" or bool(server.oauth and server.oauth.providers)


def authorize(desktop: DesktopClient, app: str, scopes: str | None, out: Print) -> str:
    """`POST /apps/<app>`: Desktop opens the browser itself and finishes in the background; we print its
    URL for when no browser opens. Returns that URL."""
    try:
        url = desktop.authorize_app(app, scopes)
    except DesktopError as e:
        raise OAuthError(f"failed to authorize {app} through Docker Desktop: {e}") from None
    out(f"Opening your browser for authentication. If it doesn't open automatically, please visit: {url}")
    return url


def revoke(desktop: DesktopClient, app: str, enabled: bool, out: Print, warn: Print) -> bool:
    """`DELETE /apps/<app>`; then, for a server no longer enabled, Desktop's DCR entry when Desktop still
    has one and the app is not authorized (the Go plugin's orphan cleanup, with "in a profile" read as
    "enabled"). Returns False when Desktop had nothing to revoke (which is not an error)."""
    out(f"Revoking OAuth access for {app}...")
    revoked = True
    try:
        desktop.revoke_app(app)
    except DesktopError as e:
        if e.status != 404:
            raise OAuthError(f"failed to revoke OAuth access for {app} through Docker Desktop: {e}") from None
        revoked = False
    out(f"OAuth access revoked for {app}" if revoked else f"{app} was not authorized: nothing to revoke")
    if not enabled:
        _remove_orphaned_dcr_entry(desktop, app, warn)
    return revoked


def _remove_orphaned_dcr_entry(desktop: DesktopClient, app: str, warn: Print) -> None:
    try:
        desktop.get_dcr_client(app)
    except DesktopError:
        return  # no DCR entry
    try:
        if desktop.get_app(app).authorized:
            return  # kept: the user may enable the server again
    except DesktopError:
        pass
    try:
        desktop.delete_dcr_client(app)
    except DesktopError as e:
        warn(f"! Could not remove Docker Desktop's DCR entry for {app}: {e}")


def register_for_authorization(desktop: DesktopClient, server: Server, out: Print, warn: Print) -> None:
    """On `server enable`: a remote server Desktop is to authorize by dynamic client registration gets a
    pending DCR entry in Desktop (unless it has one), without which Desktop's authorize has no provider.
    A server without an `oauth` block is probed first, as the Go plugin does. The provider is the
    catalog's first OAuth provider, else the server's name."""
    if server.type != "remote" or not desktop_authorizes(server):
        return
    try:
        desktop.get_dcr_client(server.name)
        return  # registered already
    except DesktopError:
        pass
    if server.oauth is None and not _requires_oauth(server):
        return
    provider = server.oauth.providers[0].provider if server.oauth and server.oauth.providers else server.name
    out(f"Configuring OAuth provider {server.name} (provider: {provider}) for authentication...")
    try:
        desktop.register_pending_dcr_client(server.name, provider)
    except DesktopError as e:
        warn(f"! Could not register {server.name} with Docker Desktop for OAuth: {e}")


def _requires_oauth(server: Server) -> bool:
    """Whether the remote server names an authorization server (a failed probe is not an error)."""
    from .discovery import discover
    from .http import new_session

    try:
        discover(new_session(), server.remote.url)
    except OAuthError:
        return False
    return True


def list_apps(desktop: DesktopClient) -> list[OAuthApp]:
    try:
        return desktop.list_apps()
    except DesktopError as e:
        raise OAuthError(f"Docker Desktop did not list its OAuth apps: {e}") from None


def merge(local: list[Authorization], apps: list[OAuthApp], servers: dict[str, Server]) -> list[Authorization]:
    """The local store's authorizations and Desktop's apps, one row per name, sorted. Desktop's row wins
    for the servers it authorizes, unless Desktop says "not authorized" and the local store holds a token
    (as the Go plugin's `oauth ls` flips it); a pre-registered server's row is always the local one."""
    rows = {r.app: r for r in local}
    for app in apps:
        if not desktop_authorizes(servers.get(app.app)):
            continue
        kept = rows.get(app.app)
        if kept is not None and kept.authorized and not app.authorized:
            continue
        rows[app.app] = Authorization(
            app=app.app,
            client_type=DESKTOP,
            authorized=app.authorized,
            expires_at=None,  # Desktop does not say
            scopes=list(app.scopes),
            provider=app.provider or app.app,
            tools=app.tools or (kept.tools if kept is not None else ()),
        )
    return [rows[name] for name in sorted(rows)]


def token_id(server: str) -> str:
    """Where the Secrets Engine has the access token Desktop holds for a server."""
    return f"docker/mcp/oauth/{server}"


class DesktopTokens:
    """The Refresher's interface (tokens.py) for the servers Desktop authorizes: the raw access token is
    read from the Secrets Engine, its expiry from the envelope's `ExpiryAt`. Desktop refreshes a token
    when its app is accessed, so a token rejected (401) or expiring within the margin is followed by
    `GET /apps/<server>` and a second read (go-plugin-oauth.md §6.3, §6.4). One refresh at a time per
    server; the callers waiting for it read what it left."""

    def __init__(
        self, engine: SecretsEngineClient, desktop: DesktopClient, margin_seconds: float = REFRESH_MARGIN_SECONDS
    ) -> None:
        self.engine = engine
        self.desktop = desktop
        self.margin = margin_seconds
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, server: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(server, threading.Lock())

    def has_token(self, server: str) -> bool:
        """Whether Desktop holds a token for the server (an unreachable engine counts as no)."""
        try:
            return self._read(server) is not None
        except OAuthError:
            return False

    def token(self, server: str, rejected: Token | None = None) -> Token:
        """A token to use now. Pass `rejected` after a 401 to have Desktop refresh it."""
        with self._lock(server):
            token = self._need(server)
            if rejected is not None and token.access_token != rejected.access_token:
                return token  # refreshed meanwhile
            if rejected is None and not token.refresh_due(self.margin):
                return token
            self._ask_desktop_to_refresh(server)
            token = self._need(server)
            if rejected is not None and token.access_token == rejected.access_token:
                raise NotAuthorizedError(expired_message(server))
            return token  # unchanged but not rejected: still usable until the server says otherwise

    def _ask_desktop_to_refresh(self, server: str) -> None:
        try:
            app = self.desktop.get_app(server)
        except DesktopError as e:
            if e.status == 404:
                raise NotAuthorizedError(not_authorized_message(server)) from None
            return  # the second read says whether Desktop refreshed anyway
        if not app.authorized:
            raise NotAuthorizedError(not_authorized_message(server))

    def _need(self, server: str) -> Token:
        token = self._read(server)
        if token is None:
            raise NotAuthorizedError(not_authorized_message(server))
        return token

    def _read(self, server: str) -> Token | None:
        try:
            envelope = self.engine.get_secret(token_id(server))
        except SecretsEngineError as e:
            raise OAuthError(f"could not read the token Docker Desktop holds for {server}: {e}") from None
        if envelope is None or not envelope.value:
            return None
        access_token = envelope.value.decode("utf-8", "replace").strip()
        return Token(access_token, expiry=envelope.expiry) if access_token else None
