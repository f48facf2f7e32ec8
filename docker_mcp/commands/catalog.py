"""docker mcp catalog ls | show | import | create | add | rm | export | fork | update"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ..argv import GlobalOptions
from ..output import cell, print_json, print_table, redact_credentials
from .listing import JSON, QUIET, Listing
from .spec import Argument, Command, Group, Option

if TYPE_CHECKING:
    from ..catalog.schema import Server
    from ..catalog.store import McpDir

FORMATS = ("table", "json", "yaml")
LISTING_OPTIONS = (
    Option(
        ("--format",),
        "Format output: table (default), json, yaml, or a Go template such as '{{.Name}}'",
        metavar="FORMAT",
    ),
    JSON,
    QUIET,
)
NAME = Argument("NAME", "A catalog name: 1-64 of a-z 0-9 . _ -")
CONFIGURED = Argument("NAME", "A configured catalog", complete="catalog")


CATALOG_KEYS = ("name", "displayName", "url", "lastUpdate")  # a catalog-ls entry, with its name
SERVER_KEYS = (  # a catalog-show registry entry ($defs/server), with its name
    *("name", "type", "image", "description", "title", "icon", "readme", "longLived", "remote", "sseEndpoint"),
    *("oauth", "secrets", "env", "command", "volumes", "user", "disableNetwork", "allowHosts", "extraHosts"),
    *("tools", "config", "prefix", "metadata"),
)


def ls(g: GlobalOptions, format: str | None = None, json: bool = False, quiet: bool = False) -> None:
    import json as json_

    from ..catalog.store import user_mcp_dir

    # {{.Source}}: the table's SOURCE column
    listing = Listing(
        "docker mcp catalog ls", format, json, quiet, CATALOG_KEYS, aliases={"source": "url"}, formats=FORMATS
    )
    index = user_mcp_dir().read_index()
    data = {"catalogs": {name: index[name].to_json() for name in sorted(index)}}
    for entry in data["catalogs"].values():
        if "url" in entry:  # a source URL may hold a password or token: catalog.json keeps it, output not
            entry["url"] = redact_credentials(entry["url"])
    if listing.kind == "json":
        sys.stdout.write(json_.dumps(data, separators=(",", ":")) + "\n")
    elif listing.kind == "yaml":
        from ..catalog.yamldoc import dump

        sys.stdout.write(dump(data))
    elif listing.kind != "table":
        listing.print([{"name": name, **entry} for name, entry in data["catalogs"].items()])
    else:
        print_table(
            ("NAME", "DISPLAY NAME", "SOURCE"),
            [(name, entry["displayName"], entry.get("url", "-")) for name, entry in data["catalogs"].items()],
        )


def show(
    g: GlobalOptions, name: str | None = None, format: str | None = None, json: bool = False, quiet: bool = False
) -> None:
    from ..catalog.importer import catalog_of
    from ..catalog.schema import DOCKER_CATALOG, catalog_json
    from ..catalog.store import user_mcp_dir

    listing = Listing("docker mcp catalog show", format, json, quiet, SERVER_KEYS, formats=FORMATS)
    mcp = user_mcp_dir()
    if name is None:  # Docker's catalog, as in the Go plugin, when it is configured
        name = DOCKER_CATALOG
        configured = sorted(mcp.read_index())
        if name not in configured:
            from ..errors import DockerMcpError

            raise DockerMcpError(
                f'no catalog named and Docker\'s catalog "{name}" is not configured: '
                f"run 'docker mcp catalog show NAME' with one of: {', '.join(configured)}"
                if configured
                else "no catalog named and none is configured: import one with 'docker mcp catalog import FILE|URL'"
            )
    catalog = catalog_of(mcp, name)
    if listing.kind == "json":
        print_json(catalog_json(catalog))
        return
    if listing.kind == "yaml":
        from ..catalog.yamldoc import dump

        sys.stdout.write(dump(catalog_json(catalog)))
        return
    if listing.kind != "table":
        listing.print([{"name": n, **entry} for n, entry in catalog_json(catalog)["registry"].items()])
        return
    print_table(
        ("NAME", "TYPE", "DESCRIPTION"),
        [(n, s.type, cell(s.description, 80)) for n, s in sorted(catalog.servers.items())],
    )


def import_(g: GlobalOptions, source: str) -> None:
    from ..catalog.importer import import_catalog
    from ..catalog.store import user_mcp_dir

    mcp = user_mcp_dir()
    prepared = import_catalog(mcp, source)
    if prepared.single_server:
        sys.stdout.write(f'Imported server "{prepared.single_server}" into catalog "{prepared.name}"\n')
    else:
        sys.stdout.write(f'Imported catalog "{prepared.name}"\n')
    for name in prepared.replaced:
        sys.stdout.write(f'It replaces catalog "{name}", which was stored in the same file\n')
    for line in _url_conflicts(mcp, prepared.name):
        sys.stderr.write(line + "\n")


def _url_conflicts(mcp: McpDir, imported: str) -> list[str]:
    """A warning per server of the imported catalog that another configured catalog has under the same
    name with another remote URL: only one of them is used, and a stored OAuth token of that name is
    only sent to the URL it was authorized for."""
    from ..errors import DockerMcpError

    def url_of(server: Server) -> str:
        return server.remote.url or server.sse_endpoint or ""

    def with_url(url: str) -> str:
        return f"remote URL {redact_credentials(url)}" if url else "no remote URL"

    try:
        order = mcp.configured_catalogs()  # a later catalog wins per server
        catalogs = {name: mcp.load_catalog(name).servers for name in order}
    except DockerMcpError:
        return []  # an unreadable catalog is reported by the commands that read it, not here
    lines = []
    for name, server in sorted(catalogs.get(imported, {}).items()):
        used = next(c for c in reversed(order) if name in catalogs[c])
        for other in order:
            theirs = catalogs[other].get(name)
            if other != imported and theirs is not None and url_of(theirs) != url_of(server):
                lines.append(
                    f'! Server "{name}" is in catalog "{imported}" with {with_url(url_of(server))} and in '
                    f'catalog "{other}" with {with_url(url_of(theirs))}: the gateway uses catalog "{used}"\'s'
                )
    return lines


def create(g: GlobalOptions, name: str) -> None:
    from ..catalog.importer import create as create_catalog
    from ..catalog.store import user_mcp_dir

    create_catalog(user_mcp_dir(), name)
    sys.stdout.write(f"created empty catalog {name}\n")


def add(g: GlobalOptions, catalog: str, server: str, file: str, force: bool = False) -> None:
    from ..catalog.importer import add as add_server
    from ..catalog.store import user_mcp_dir

    add_server(user_mcp_dir(), catalog, server, file, force)
    sys.stdout.write(f'copied server "{server}" from catalog "{file}" to "{catalog}"\n')


def rm(g: GlobalOptions, name: str) -> None:
    from ..catalog.importer import remove
    from ..catalog.store import user_mcp_dir

    removed = remove(user_mcp_dir(), name)  # as catalog.json spells it (`myteam` removes the Go plugin's `MyTeam`)
    sys.stdout.write(f'removed catalog "{removed}"\n')


def export(g: GlobalOptions, name: str, file: str) -> None:
    from ..catalog.importer import export as export_catalog
    from ..catalog.store import user_mcp_dir

    export_catalog(user_mcp_dir(), name, file)
    sys.stdout.write(f"Catalog '{name}' exported to '{file}'\n")


def fork(g: GlobalOptions, src: str, new: str) -> None:
    from ..catalog.importer import fork as fork_catalog
    from ..catalog.store import user_mcp_dir

    fork_catalog(user_mcp_dir(), src, new)
    sys.stdout.write(f'forked catalog "{src}" as "{new}"\n')


def update(g: GlobalOptions, name: str | None = None) -> None:
    from ..catalog.importer import update as update_catalogs
    from ..catalog.store import user_mcp_dir
    from ..errors import DockerMcpError

    updated, skipped, errors = update_catalogs(user_mcp_dir(), name)
    for catalog in updated:
        sys.stdout.write(f"updated: {catalog}\n")
    for catalog in skipped:
        sys.stderr.write(f"skipped: {catalog} (created or forked, not imported: no source to update from)\n")
    if errors:
        raise DockerMcpError("; ".join(errors))


GROUP = Group(
    "catalog",
    "Manage MCP server catalogs",
    (
        Command(
            "ls",
            "List the configured catalogs",
            ls,
            options=LISTING_OPTIONS,
            aliases=("list",),
            long="List the configured catalogs, by name and display name.",
        ),
        Command(
            "show",
            "Show the servers of a catalog",
            show,
            args=(Argument("NAME", "A configured catalog (default docker-mcp)", required=False, complete="catalog"),),
            options=LISTING_OPTIONS,
            long="Show the servers of a configured catalog, each with its description. Without NAME, the docker-mcp catalog.",
        ),
        Command(
            "import",
            "Import a catalog, or a single server file, from a file or an http(s) URL",
            import_,
            args=(
                Argument(
                    "SOURCE", "A file path or URL: a catalog (with registry) or one server (with name)", complete="file"
                ),
            ),
            example="docker mcp catalog import ./slack-official.yaml",
            long="Import a catalog from a file or an http(s) URL: a catalog document (with a registry of servers) becomes a configured catalog under its name; a single server's file (with a name) is imported as a catalog of its own. The source is remembered for docker mcp catalog update.",
        ),
        Command(
            "create",
            "Create an empty catalog",
            create,
            args=(NAME,),
            long="Create an empty catalog, to add servers to with docker mcp catalog add.",
        ),
        Command(
            "add",
            "Copy a server from a catalog file into a configured catalog",
            add,
            args=(
                Argument("CATALOG", "The configured catalog to add to", complete="catalog"),
                Argument("SERVER", "The server's name"),
                Argument("FILE", "A catalog file, or a single server file, holding the server", complete="file"),
            ),
            options=(Option(("--force",), "Overwrite the server if the catalog already has it"),),
            long="Copy a server's entry from a catalog file (or a single server's file) into a configured catalog. --force replaces an entry of the same name.",
        ),
        Command(
            "rm",
            "Remove a catalog",
            rm,
            args=(CONFIGURED,),
            aliases=("remove",),
            long="Remove a configured catalog: its servers can no longer be enabled or served.",
        ),
        Command(
            "export",
            "Write a configured catalog to a file",
            export,
            args=(CONFIGURED, Argument("FILE", "Where to write it", complete="file")),
            long="Write a configured catalog to FILE, in the format docker mcp catalog import reads.",
        ),
        Command(
            "fork",
            "Copy a catalog under a new name",
            fork,
            args=(
                Argument("SRC", "The catalog to copy", complete="catalog"),
                Argument("NEW", "The new catalog's name"),
            ),
            long="Copy a configured catalog under a new name, to change the copy and keep the original. A fork has no source: docker mcp catalog update leaves it alone.",
        ),
        Command(
            "update",
            "Re-read catalogs from the file or URL they were imported from",
            update,
            args=(Argument("NAME", "One catalog (default: all)", required=False, complete="catalog"),),
            long="Read catalogs again from the file or URL they were imported from: the one named, else every catalog. Catalogs created or forked here have no source and are skipped.",
        ),
    ),
    aliases=("catalogs",),
    long="Manage the catalogs of MCP servers: files that describe each server (its image or remote URL, its settings, secrets and tools). A server of a configured catalog is used once it is enabled (docker mcp server enable).",
)
