"""docker mcp server ls | enable | disable | inspect | reset"""

from __future__ import annotations

import sys
from typing import Any

from ..argv import GlobalOptions
from ..output import cell, print_json, print_table
from .listing import OPTIONS as LISTING_OPTIONS
from .listing import Listing
from .spec import Argument, Command, Group, Option

NAMES = Argument("NAME", "Server names, as the catalogs list them", variadic=True, complete="server-not-enabled")
ENABLED = Argument("NAME", "Server names, as the catalogs list them", variadic=True, complete="server-enabled")


# a `server ls --json` element: ours, then the Go plugin's ListEntry statuses (cmd/docker-mcp/server/ls.go:26-34)
SERVER_KEYS = ("name", "catalog", "type", "description", "config", "secrets", "oauth")


def ls(g: GlobalOptions, format: str | None = None, json: bool = False, quiet: bool = False) -> None:
    from ..catalog.registry import config_status, enabled_servers, server_config
    from ..catalog.store import user_mcp_dir

    listing = Listing("docker mcp server ls", format, json, quiet, SERVER_KEYS)
    mcp = user_mcp_dir()
    values = server_config(mcp)
    enabled = enabled_servers(mcp)
    rows: list[dict[str, Any]] = [
        {
            "name": e.name,
            "catalog": e.catalog,
            "type": e.server.type if e.server else None,
            "description": e.server.description if e.server else "",
            "config": config_status(e.server, values.get(e.name)) if e.server else "none",
        }
        for e in enabled
    ]
    if listing.kind not in ("table", "quiet"):  # the default table stays clear of the stores
        servers = {e.name: e.server for e in enabled if e.server is not None}
        statuses = _readiness(g, servers)
        for row in rows:
            row["secrets"], row["oauth"] = statuses.get(row["name"], ("none", "none"))
    if listing.kind == "json":
        print_json(rows)
    elif listing.kind != "table":
        listing.print(rows)
    else:
        print_table(
            ("NAME", "CATALOG", "TYPE", "CONFIG", "DESCRIPTION"),
            [(r["name"], r["catalog"] or "-", r["type"] or "-", r["config"], cell(r["description"], 60)) for r in rows],
        )


def _readiness(g: GlobalOptions, servers: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """server -> (secrets, oauth) as the Go plugin's `server ls` has them (cmd/docker-mcp/server/ls.go:
    106-167). secrets: `none` (it declares none), `done` (each is set: in the credential store or where
    the Go plugin keeps secrets, secrets/go_plugin.py), `partial`, `required`. oauth: `none` (not an
    OAuth server), `done` (authorized, as `oauth ls` says), `required`. The stores are opened only when a
    server needs them; one that cannot be read is warned about on stderr and counts as holding nothing,
    as the Go plugin does (ls.go:57-80)."""
    wants_secrets = any(s.secrets for s in servers.values())
    maybe_oauth = any(s.type == "remote" or (s.oauth and s.oauth.providers) for s in servers.values())
    if not wants_secrets and not maybe_oauth:
        return {}
    store, desktop = _stores(g)
    names = _set_secrets(store) if wants_secrets else set()
    oauth, authorized = _oauth_servers(servers, store, desktop) if maybe_oauth else (set(), set())
    statuses = {}
    for name, server in servers.items():
        declared = [s.name for s in server.secrets]
        have = sum(1 for s in declared if s in names)
        secrets = "none" if not declared else "done" if have == len(declared) else "partial" if have else "required"
        statuses[name] = (secrets, "none" if name not in oauth else "done" if name in authorized else "required")
    return statuses


def _stores(g: GlobalOptions) -> tuple[Any, Any]:
    """Our credential store (None when none is configured or usable: nothing can be in it then) and
    Docker Desktop's API client in Desktop mode (else None)."""
    from ..desktop.detect import ce_mode
    from ..dockercli import home_dir
    from ..secrets.store import CredentialStoreError, open_store

    home = home_dir()
    desktop = None
    if not ce_mode(home):
        from ..desktop.api import DesktopClient

        desktop = DesktopClient(home)
    try:
        store = open_store(g.config, desktop_mode=desktop is not None)
    except CredentialStoreError:
        store = None
    return store, desktop


def _set_secrets(store: Any) -> set[str]:
    """The names of the secrets the resolver finds by name: ours and the Go plugin's."""
    from ..dockercli import home_dir
    from ..errors import DockerMcpError
    from ..secrets.go_plugin import go_places
    from ..secrets.named import list_everywhere

    names = set(list_everywhere(None, go_places(home_dir(), store)))
    try:
        return names | set(list_everywhere(store, ()))
    except DockerMcpError as e:
        _warn(f"Warning: error fetching secrets: {e}")
        return names


def _oauth_servers(servers: dict[str, Any], store: Any, desktop: Any) -> tuple[set[str], set[str]]:
    """(the OAuth servers, the authorized ones) among `servers`: what `oauth ls` lists (commands/oauth.py
    ls: a remote server with an `oauth` block, a stored client or token, an app of Docker Desktop's),
    and a server with OAuth providers, as the Go plugin counts one (pkg/catalog/types.go:76-78)."""
    from ..errors import DockerMcpError
    from ..oauth.flow import authorizations

    rows = []
    try:
        rows = authorizations(servers, store) if store is not None else []
    except DockerMcpError as e:
        _warn(f"Warning: error fetching OAuth authorizations: {e}")
    if desktop is not None:
        from ..oauth import desktop as desktop_oauth

        try:
            rows = desktop_oauth.merge(rows, desktop_oauth.list_apps(desktop), servers)
        except DockerMcpError as e:
            _warn(f"Warning: error fetching OAuth apps: {e}")
    oauth = {n for n, s in servers.items() if (s.type == "remote" and s.oauth) or (s.oauth and s.oauth.providers)}
    oauth |= {r.app for r in rows if r.app in servers}
    return oauth, {r.app for r in rows if r.authorized}


def enable(g: GlobalOptions, name: tuple[str, ...]) -> None:
    from ..catalog.registry import enable as enable_servers
    from ..catalog.store import user_mcp_dir

    servers = enable_servers(user_mcp_dir(), list(name))
    if any(s.type == "remote" for s in servers):
        _register_with_desktop(g, servers)
    for server in servers:
        credentials = server.oauth.credentials if server.oauth else None
        if server.type == "remote" and credentials is not None and credentials.grant_type == "client_credentials":
            sys.stdout.write(
                f"OAuth server {server.name} enabled. It uses the client_credentials grant: its token is fetched "
                "on first use, no browser needed\n"
            )
        elif server.type == "remote" and server.oauth is not None:
            sys.stdout.write(
                f"OAuth server {server.name} enabled. Run 'docker mcp oauth authorize {server.name}' to authenticate\n"
            )
        else:
            sys.stdout.write(f'Server "{server.name}" enabled.\n')


def _register_with_desktop(g: GlobalOptions, servers: list[Any]) -> None:
    """In Desktop mode, Desktop authorizes DCR servers and must know them first (as the Go plugin does)."""
    from ..desktop.detect import ce_mode
    from ..dockercli import home_dir
    from ..features import is_enabled

    home = home_dir()
    if ce_mode(home) or not is_enabled(g.config, "mcp-oauth-dcr"):
        return
    from ..desktop.api import DesktopClient
    from ..oauth.desktop import register_for_authorization

    desktop = DesktopClient(home)
    for server in servers:
        register_for_authorization(desktop, server, _say, _warn)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def _warn(line: str) -> None:
    sys.stderr.write(line + "\n")


def disable(g: GlobalOptions, name: tuple[str, ...]) -> None:
    from ..catalog.registry import disable as disable_servers
    from ..catalog.store import user_mcp_dir

    not_enabled = disable_servers(user_mcp_dir(), list(name))
    for server in dict.fromkeys(name):
        if server in not_enabled:  # left alone and exit 0, as the Go plugin; but not said to be disabled
            sys.stderr.write(
                f"server \"{server}\" is not enabled: run 'docker mcp server ls' to list the enabled ones\n"
            )
        else:
            sys.stdout.write(f'Server "{server}" disabled.\n')


def inspect(g: GlobalOptions, name: str, format: str | None = None) -> None:
    # always JSON; --format json is accepted so that a caller can ask for it (and get JSON errors)
    from ..catalog.registry import ServerNotFoundError, enabled_names, enabled_tools, server_not_found
    from ..catalog.schema import server_json
    from ..catalog.store import user_mcp_dir

    mcp = user_mcp_dir()
    found = mcp.all_servers().get(name)
    if found is None:
        raise ServerNotFoundError(server_not_found(name))
    catalog, server = found
    allowed = enabled_tools(mcp).get(name)
    print_json(
        {
            "name": name,
            "catalog": catalog,
            "enabled": name in enabled_names(mcp),
            "tools": [
                {
                    "name": t["name"],
                    "description": t.get("description") or "",
                    "enabled": allowed is None or t["name"] in allowed,
                }
                for t in server.tools
            ],
            "server": server_json(server),
        }
    )


def reset(g: GlobalOptions) -> None:
    from ..catalog.registry import reset as reset_registry
    from ..catalog.store import user_mcp_dir

    reset_registry(user_mcp_dir())
    sys.stdout.write("Disabled all servers.\n")


GROUP = Group(
    "server",
    "Enable, disable and inspect the servers of the configured catalogs",
    (
        Command(
            "ls",
            "List the enabled servers",
            ls,
            options=LISTING_OPTIONS,
            aliases=("list",),
            long="List the enabled servers with their catalog, type, whether their settings are complete, and description.",
        ),
        Command(
            "enable",
            "Enable servers of the configured catalogs",
            enable,
            args=(NAMES,),
            aliases=("add",),
            long="Enable servers of the configured catalogs: the gateway serves them from its next start (a running gateway with --watch picks them up). A remote server that uses OAuth needs docker mcp oauth authorize next.",
        ),
        Command(
            "disable",
            "Disable servers",
            disable,
            args=(ENABLED,),
            aliases=("remove", "rm"),
            long="Disable servers: the gateway no longer serves them. Their settings and secrets are kept.",
        ),
        Command(
            "inspect",
            "Show a server's catalog entry and tools as JSON",
            inspect,
            args=(Argument("NAME", "A server", complete="server"),),
            options=(
                Option(
                    ("--format",),
                    "Print errors as JSON too; the output is JSON anyway",
                    metavar="FORMAT",
                    choices=("json",),
                ),
            ),
            long="Show a server's catalog entry, whether it is enabled, and its tools (each with whether it is enabled), as JSON.",
        ),
        Command(
            "reset",
            "Disable every server",
            reset,
            long="Disable every server. Their settings, secrets and catalogs are kept.",
        ),
    ),
    long="Enable, disable and inspect the servers of the configured catalogs. The enabled servers are the ones docker mcp gateway run serves.",
)
