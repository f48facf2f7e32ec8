"""docker mcp catalog ls | show | import | create | add | rm | export | fork | update"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ..argv import GlobalOptions
from ..output import print_json, redact_credentials
from .spec import Argument, Command, Group, Option

if TYPE_CHECKING:
    from ..catalog.schema import Server
    from ..catalog.store import McpDir

FORMAT = Option(("--format",), "Output format", metavar="FORMAT", choices=("json", "yaml"))
NAME = Argument("NAME", "A catalog name: 1-64 of a-z 0-9 . _ -")


def ls(g: GlobalOptions, format: str | None = None) -> None:
    import json

    from ..catalog.store import user_mcp_dir

    index = user_mcp_dir().read_index()
    data = {"catalogs": {name: index[name].to_json() for name in sorted(index)}}
    for entry in data["catalogs"].values():
        if "url" in entry:  # a source URL may hold a password or token: catalog.json keeps it, output not
            entry["url"] = redact_credentials(entry["url"])
    if format == "json":
        sys.stdout.write(json.dumps(data, separators=(",", ":")) + "\n")
    elif format == "yaml":
        from ..catalog.yamldoc import dump

        sys.stdout.write(dump(data))
    elif not index:
        sys.stdout.write("No catalogs configured.\n")
    else:
        for name in sorted(index):
            sys.stdout.write(f"{name}: {index[name].display_name}\n")


def show(g: GlobalOptions, name: str = "docker-mcp", format: str | None = None) -> None:
    from ..catalog.importer import catalog_of
    from ..catalog.schema import catalog_json
    from ..catalog.store import user_mcp_dir

    catalog = catalog_of(user_mcp_dir(), name)
    if format == "json":
        print_json(catalog_json(catalog))
        return
    if format == "yaml":
        from ..catalog.yamldoc import dump

        sys.stdout.write(dump(catalog_json(catalog)))
        return
    import shutil
    import textwrap

    width = shutil.get_terminal_size((120, 24)).columns
    bold = (lambda s: f"\033[1m{s}\033[0m") if sys.stdout.isatty() else (lambda s: s)
    rule = "─" * min(width - 4, 78)
    out = [
        "",
        f"  {bold('MCP Server Directory')}",
        f"  {len(catalog.servers)} servers available",
        f"  {rule}",
        "",
    ]
    for i, server_name in enumerate(sorted(catalog.servers)):
        if i:
            out.append("")
        out.append(f"  {bold(server_name)}")
        description = " ".join(catalog.servers[server_name].description.split())
        out += textwrap.wrap(description, max(width - 10, 40), initial_indent="    ", subsequent_indent="    ") or [""]
    out += ["", f"  {rule}", f"  {len(catalog.servers)} servers total", ""]
    sys.stdout.write("\n".join(out) + "\n")


def import_(g: GlobalOptions, source: str) -> None:
    from ..catalog.importer import import_catalog
    from ..catalog.store import user_mcp_dir

    mcp = user_mcp_dir()
    prepared = import_catalog(mcp, source)
    if prepared.single_server:
        sys.stdout.write(f'Imported server "{prepared.single_server}" into catalog "{prepared.name}"\n')
    else:
        sys.stdout.write(f'Imported catalog "{prepared.name}"\n')
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

    remove(user_mcp_dir(), name)
    sys.stdout.write(f'removed catalog "{name}"\n')


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
        sys.stderr.write(f"skipped: {catalog} (created or forked here: no source to update from)\n")
    if errors:
        raise DockerMcpError("; ".join(errors))


GROUP = Group(
    "catalog",
    "Manage MCP server catalogs",
    (
        Command("ls", "List the configured catalogs", ls, options=(FORMAT,), aliases=("list",)),
        Command(
            "show",
            "Show the servers of a catalog",
            show,
            args=(Argument("NAME", "A configured catalog (default docker-mcp)", required=False),),
            options=(FORMAT,),
        ),
        Command(
            "import",
            "Import a catalog, or a single server file, from a file or an http(s) URL",
            import_,
            args=(Argument("SOURCE", "A file path or URL: a catalog (with registry) or one server (with name)"),),
            example="docker mcp catalog import ./slack-official.yaml",
        ),
        Command("create", "Create an empty catalog", create, args=(NAME,)),
        Command(
            "add",
            "Copy a server from a catalog file into a configured catalog",
            add,
            args=(
                Argument("CATALOG", "The configured catalog to add to"),
                Argument("SERVER", "The server's name"),
                Argument("FILE", "A catalog file, or a single server file, holding the server"),
            ),
            options=(Option(("--force",), "Overwrite the server if the catalog already has it"),),
        ),
        Command("rm", "Remove a catalog", rm, args=(NAME,), aliases=("remove",)),
        Command(
            "export",
            "Write a configured catalog to a file",
            export,
            args=(NAME, Argument("FILE", "Where to write it")),
        ),
        Command(
            "fork",
            "Copy a catalog under a new name",
            fork,
            args=(Argument("SRC", "The catalog to copy"), Argument("NEW", "The new catalog's name")),
        ),
        Command(
            "update",
            "Re-read catalogs from the file or URL they were imported from",
            update,
            args=(Argument("NAME", "One catalog (default: all)", required=False),),
        ),
    ),
    aliases=("catalogs",),
)
