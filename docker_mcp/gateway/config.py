"""What the gateway serves: the enabled servers (or --servers) as the configured catalogs describe them,
their settings (config.yaml), their tool allow lists (tools.yaml and --tools), and where secrets come from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..catalog.registry import (
    CONFIG,
    REGISTRY,
    TOOLS,
    ServerNotFoundError,
    enabled_names,
    enabled_tools,
    server_config,
    server_not_found,
)
from ..catalog.schema import Server
from ..catalog.store import McpDir


@dataclass(frozen=True)
class GatewayConfig:
    servers: dict[str, Server]
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # config.yaml
    allowed_tools: dict[str, list[str]] = field(default_factory=dict)  # tools.yaml: absent = all tools
    tool_filter: tuple[str, ...] = ()  # --tools: only these names, when given
    env_files: tuple[str, ...] = ()  # --secrets: .env files, the resolver's last source
    vanished: tuple[str, ...] = ()  # enabled in registry.yaml, but no configured catalog has them now
    prefix_all: bool = False  # the tool-name-prefix feature: tools are <server>__<tool>

    def tool_enabled(self, server: str, tool: str) -> bool:
        """--tools (`*`, `tool`, `server:tool`, `server:*`, `image:tool`, `image:*`, case-insensitive) when
        given, else tools.yaml (a server absent from it has all its tools)."""
        if self.tool_filter:
            image = self.servers[server].image if server in self.servers else ""
            wanted = {f.lower() for f in self.tool_filter}
            candidates = {"*", tool, f"{server}:{tool}", f"{server}:*"}
            if image:
                candidates |= {f"{image}:{tool}", f"{image}:*"}
            return bool(wanted & {c.lower() for c in candidates})
        allowed = self.allowed_tools.get(server)
        return allowed is None or tool in allowed

    def exposed_name(self, server: str, tool: str) -> str:
        """The catalog's `prefix`, else the server name with tool-name-prefix on: `<prefix>__<tool>`."""
        entry = self.servers.get(server)
        prefix = (entry.prefix if entry else "") or (server if self.prefix_all else "")
        return f"{prefix}__{tool}" if prefix else tool


@dataclass(frozen=True)
class ConfigFiles:
    """Where the gateway reads its configuration (go-plugin-gateway.md §2.3): catalogs by name, file
    or URL (the configured ones when none is given), then registry, config and tools files, relative
    to ~/.docker/mcp unless absolute or ./-relative. Later files win, key by key."""

    catalogs: tuple[str, ...] = ()  # --catalog: instead of the configured catalogs
    additional_catalogs: tuple[str, ...] = ()  # --additional-catalog: after them
    registries: tuple[str, ...] = (REGISTRY,)
    configs: tuple[str, ...] = (CONFIG,)
    tools: tuple[str, ...] = (TOOLS,)

    def watched(self, mcp: McpDir, servers_given: bool) -> list[str]:
        """The files `--watch` follows: registries (unless --servers says which servers), configs, tools."""
        names = [*([] if servers_given else self.registries), *self.configs, *self.tools]
        return list(dict.fromkeys(mcp.file(n) for n in names))


def load_config(
    mcp: McpDir,
    servers: Sequence[str] = (),
    enable_all: bool = False,
    tools: Sequence[str] = (),
    env_files: Sequence[str] = (),
    prefix_all: bool = False,
    files: ConfigFiles = ConfigFiles(),
) -> GatewayConfig:
    """Validate everything up front: an unknown server name stops the gateway before anything starts."""
    catalog = _servers(mcp, files)
    if enable_all:
        names = sorted(catalog)
    elif servers:
        names = list(dict.fromkeys(servers))
    else:
        names = sorted({n for f in files.registries for n in enabled_names(mcp, f)})
    missing = [n for n in names if n not in catalog]
    if missing and servers:
        raise ServerNotFoundError(server_not_found(missing[0]))
    settings: dict[str, dict[str, Any]] = {}
    for f in files.configs:
        settings.update(server_config(mcp, f))
    allowed: dict[str, list[str]] = {}
    for f in files.tools:
        allowed.update(enabled_tools(mcp, f))
    return GatewayConfig(
        servers={n: catalog[n] for n in names if n in catalog},
        vanished=tuple(missing),
        settings=settings,
        allowed_tools=allowed,
        tool_filter=tuple(tools),
        env_files=tuple(env_files),
        prefix_all=prefix_all,
    )


def _servers(mcp: McpDir, files: ConfigFiles) -> dict[str, Server]:
    """The merged catalog: later catalogs win per server."""
    if not files.catalogs and not files.additional_catalogs:
        return {name: server for name, (_, server) in mcp.all_servers().items()}
    from ..catalog.importer import read_catalog

    merged: dict[str, Server] = {}
    if not files.catalogs:
        merged.update((name, server) for name, (_, server) in mcp.all_servers().items())
    for ref in (*files.catalogs, *files.additional_catalogs):
        merged.update(read_catalog(mcp, ref).servers)
    return merged
