"""docker mcp oauth ls | authorize | revoke | export"""

from __future__ import annotations

import sys
from typing import Any

from ..argv import GlobalOptions
from ..output import print_json, print_table
from .listing import OPTIONS as LISTING_OPTIONS
from .listing import Listing
from .spec import Argument, Command, Group, Option

SERVER = Argument("SERVER", "A remote server of the configured catalogs", complete="oauth-server")
CALLBACK_HOSTS = ("localhost", "127.0.0.1", "::1")  # catalog.schema.LOOPBACK_HOSTS, without importing the schema


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _warn(line: str) -> None:
    sys.stderr.write(line + "\n")


def _desktop() -> Any:
    """Docker Desktop's API client in Desktop mode, else None (CE mode)."""
    from ..desktop.detect import ce_mode
    from ..dockercli import home_dir

    home = home_dir()
    if ce_mode(home):
        return None
    from ..desktop.api import DesktopClient

    return DesktopClient(home)


def _local(g: GlobalOptions, desktop: Any) -> tuple[Any, Any]:
    """The credential store and the secret sources of the local flow."""
    from ..secrets.resolver import SecretSources
    from ..secrets.store import open_store

    store = open_store(g.config, desktop_mode=desktop is not None)
    return store, SecretSources.from_environment(store=lambda: store)


def _servers() -> dict[str, Any]:
    from ..catalog.store import user_mcp_dir

    return {name: server for name, (_, server) in user_mcp_dir().all_servers().items()}


APP_KEYS = ("app", "authorized", "provider", "scopes", "tools", "clientType", "expiresAt")  # app_json's


def ls(g: GlobalOptions, format: str | None = None, json: bool = False, quiet: bool = False) -> None:
    from ..oauth.flow import authorizations

    # the table's headers as fields: {{.Name}} (as in every other listing), {{.Client}}, {{.Expires}}
    aliases = {"name": "app", "client": "clientType", "expires": "expiresAt"}
    listing = Listing("docker mcp oauth ls", format, json, quiet, APP_KEYS, key="app", aliases=aliases)
    servers, desktop = _servers(), _desktop()
    store, _ = _local(g, desktop)
    rows = authorizations(servers, store)
    if desktop is not None:
        from ..oauth import desktop as desktop_oauth

        rows = desktop_oauth.merge(rows, desktop_oauth.list_apps(desktop), servers)
    if listing.kind == "json":
        print_json([app_json(r) for r in rows])
    elif listing.kind != "table":
        listing.print([app_json(r) for r in rows])
    else:
        print_table(
            ("NAME", "CLIENT", "AUTHORIZED", "EXPIRES"),
            [(r.app, r.client_type or "-", "yes" if r.authorized else "no", r.expires_at or "-") for r in rows],
        )


def app_json(r: Any) -> dict[str, Any]:
    """One `oauth ls --json` element: the Go plugin's OAuthApp keys, then this plugin's additions
    (docs/json/oauth-ls.schema.json)."""
    return {
        "app": r.app,
        "authorized": r.authorized,
        "provider": r.provider or r.app,
        "scopes": [{"name": s} for s in r.scopes],
        "tools": list(r.tools),
        "clientType": r.client_type,
        "expiresAt": r.expires_at,
    }


def authorize(
    g: GlobalOptions,
    server: str,
    scopes: str | None = None,
    open_browser: bool = False,
    callback_port: int | None = None,
    timeout: float | None = None,
    callback_host: str | None = None,
) -> None:
    from ..errors import UsageError
    from ..features import is_enabled
    from ..oauth.flow import DEFAULT_TIMEOUT_SECONDS, AuthorizeOptions
    from ..oauth.flow import authorize as run_authorize

    if timeout is not None and not 0 < timeout <= 86400:
        raise UsageError(
            f"--timeout must be a number of seconds above 0, at most 86400, not {timeout:g}",
            "docker mcp oauth authorize",
        )
    if callback_port is not None and not 1 <= callback_port <= 65535:
        raise UsageError(
            f"--callback-port must be a port number from 1 to 65535, not {callback_port}", "docker mcp oauth authorize"
        )
    servers, desktop = _servers(), _desktop()
    if desktop is not None:
        from ..oauth import desktop as desktop_oauth

        if desktop_oauth.desktop_authorizes(servers.get(server)):
            desktop_oauth.authorize(desktop, server, scopes, _say)
            return
    if server not in servers:
        from ..catalog.registry import ServerNotFoundError, server_not_found

        raise ServerNotFoundError(server_not_found(server))
    store, sources = _local(g, desktop)
    options = AuthorizeOptions(
        scopes=scopes,
        open_browser=open_browser,
        callback_port=callback_port,
        callback_host=callback_host,
        timeout=DEFAULT_TIMEOUT_SECONDS if timeout is None else timeout,
        dcr_enabled=is_enabled(g.config, "mcp-oauth-dcr"),
    )
    run_authorize(servers[server], store, sources, options, _say, _warn)


def revoke(g: GlobalOptions, server: str) -> None:
    from ..oauth.flow import revoke as run_revoke

    servers, desktop = _servers(), _desktop()
    known = servers.get(server)
    if known is None and desktop is None and not _has_stored_client(g, server):
        # CE mode: no catalog has it and no client of it is stored (Desktop's own catalog may know a name)
        from ..catalog.registry import ServerNotFoundError, server_not_found

        raise ServerNotFoundError(server_not_found(server))
    if known is not None and known.type != "remote" and not (known.oauth and known.oauth.providers):
        from ..errors import DockerMcpError

        raise DockerMcpError(
            f'server "{server}" does not use OAuth (only remote servers do): '
            "run 'docker mcp oauth ls' to list the ones that do"
        )
    if desktop is not None:
        from ..oauth import desktop as desktop_oauth

        if desktop_oauth.desktop_authorizes(servers.get(server), _stored_client_type(g, server, servers)):
            from ..catalog.registry import enabled_names
            from ..catalog.store import user_mcp_dir

            desktop_oauth.revoke(desktop, server, server in enabled_names(user_mcp_dir()), _say, _warn)
            return
    store, sources = _local(g, desktop)
    run_revoke(server, servers.get(server), store, sources, _say, _warn)


def export(g: GlobalOptions, server: str, output: str | None = None, force: bool = False) -> None:
    """Write SERVER's authorization (client record and tokens, never the client secret) to --output, for
    a gateway in a container (docs/gateway.md, "OAuth servers from a container")."""
    from ..errors import UsageError
    from ..oauth.export import exported, write_export

    if not output:
        raise UsageError("--output FILE is required: the export holds tokens, never printed", "docker mcp oauth export")
    store, _ = _local(g, _desktop())  # the store `oauth authorize` keeps local authorizations in
    write_export(exported(store, server), output, force)
    _say(f"Exported the authorization of {server} to {output} (mode 0600; it holds its tokens).")
    _say(f"Make it the Docker secret {server}.oauth: docker secret create {server}.oauth {output}")


def _has_stored_client(g: GlobalOptions, server: str) -> bool:
    """Whether the local (CE mode) store keeps a client record of `server`; an unusable store keeps none."""
    from ..errors import DockerMcpError
    from ..oauth.clients import load_client

    try:
        store, _ = _local(g, desktop=None)
        return load_client(store, server) is not None
    except DockerMcpError:
        return False


def _stored_client_type(g: GlobalOptions, server: str, servers: dict[str, Any]) -> str | None:
    """For a server no catalog has any more: the type of the client the local store keeps for it."""
    if server in servers:
        return None
    from ..errors import DockerMcpError
    from ..oauth.clients import load_client

    try:
        store, _ = _local(g, desktop=True)
        record = load_client(store, server)
    except DockerMcpError:
        return None  # no usable local store: nothing of the server's is in it
    return record.client_type if record is not None else None


GROUP = Group(
    "oauth",
    "Authorize remote MCP servers with OAuth",
    (
        Command(
            "ls",
            "List the remote servers that use OAuth and whether each is authorized",
            ls,
            options=LISTING_OPTIONS,
            aliases=("list",),
            long="List the remote servers that use OAuth, whether each is authorized, and when its token expires.",
        ),
        Command(
            "authorize",
            "Authorize a remote server: a pre-registered client from the catalog, else dynamic registration",
            authorize,
            args=(SERVER,),
            options=(
                Option(("--scopes",), "Scopes to request, space separated (default: the catalog's)", metavar="SCOPES"),
                Option(("--open-browser",), "Open the authorization URL in the browser ($BROWSER is honoured)"),
                Option(
                    ("--callback-port",),
                    "Loopback port for the callback (default: $MCP_GATEWAY_OAUTH_PORT, else 54321)",
                    metavar="PORT",
                    type=int,
                ),
                Option(
                    ("--callback-host",),
                    "Loopback host of the redirect URI (default: the catalog's oauth.redirectHost, else 127.0.0.1)",
                    metavar="HOST",
                    choices=CALLBACK_HOSTS,
                ),
                Option(
                    ("--timeout",), "Seconds to wait for the browser step (default 300)", metavar="SECONDS", type=float
                ),
            ),
            example="docker mcp oauth authorize slack-official --open-browser",
            long="Authorize a remote server: with the client its catalog entry pre-registers, else a client registered with the server (dynamic client registration, when the mcp-oauth-dcr feature is enabled). Open the printed URL in a browser (--open-browser opens it) and approve: the token is stored in the credential store.",
        ),
        Command(
            "revoke",
            "Revoke a server's authorization and forget its token",
            revoke,
            args=(SERVER,),
            long="Revoke a server's authorization: the token is revoked with the provider where it offers that, and forgotten here.",
        ),
        Command(
            "export",
            "Write a server's authorization (client and tokens, not the client secret) for a gateway in a container",
            export,
            args=(SERVER,),
            options=(
                Option(("--output", "-o"), "The file to write (created with mode 0600)", metavar="FILE"),
                Option(("--force",), "Replace the file if it exists"),
            ),
            example="docker mcp oauth export slack-official -o slack-official.oauth",
            long="Write a server's authorization (its client record and tokens, never the client secret) to --output, a file of mode 0600, for a gateway that runs in a container: make it the Docker secret SERVER.oauth.",
        ),
    ),
    long="Authorize remote MCP servers with OAuth: authorize a server once, and the gateway sends its token (refreshed when it expires).",
)
