"""The `mcp` command tree. Command modules import only the standard library at module level."""

from __future__ import annotations

import sys

from ..argv import GlobalOptions
from ..metadata import version as _version
from . import catalog, config, feature, gateway, oauth, secret, server, tools, version
from .spec import Group, Option


def _print_version(g: GlobalOptions) -> None:
    sys.stdout.write(_version() + "\n")


ROOT = Group(
    "mcp",
    "Manage MCP servers and clients",
    (
        catalog.GROUP,
        config.GROUP,
        feature.GROUP,
        gateway.GROUP,
        oauth.GROUP,
        secret.GROUP,
        server.GROUP,
        tools.GROUP,
        version.COMMAND,
    ),
    options=(Option(("-v", "--version"), "Print version information and quit"),),
    flag_handlers={"version": _print_version},
    long="Docker MCP Toolkit's CLI - Manage your MCP servers and clients.\n\nCatalogs describe MCP servers; enable the ones you want (docker mcp server enable), give them their settings and secrets, and serve them to your MCP clients through one endpoint (docker mcp gateway run).",
)
