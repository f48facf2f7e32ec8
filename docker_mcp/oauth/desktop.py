"""OAuth in Docker Desktop mode: which servers Desktop authorizes, and authorize, revoke and list
through its /apps API as the Go plugin does (go-plugin-oauth.md §1.2, §7, §8.4). Desktop runs dynamic
client registration, PKCE, the browser step and token storage itself; a server with a pre-registered
client in the catalog always uses the local flow (flow.py), which Desktop cannot do."""

from __future__ import annotations

from collections.abc import Callable

from ..catalog.schema import Server
from ..desktop.api import DesktopClient, DesktopError, OAuthApp
from .clients import PRE_REGISTERED
from .errors import OAuthError
from .flow import Authorization

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
