"""What the gateway serves: the enabled servers (or --servers) as the configured catalogs describe them,
their settings (config.yaml), their tool allow lists (tools.yaml and --tools), and where secrets come from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..catalog.registry import ServerNotFoundError, enabled_names, enabled_tools, server_config
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


def load_config(
    mcp: McpDir,
    servers: Sequence[str] = (),
    enable_all: bool = False,
    tools: Sequence[str] = (),
    env_files: Sequence[str] = (),
    prefix_all: bool = False,
) -> GatewayConfig:
    """Validate everything up front: an unknown server name stops the gateway before anything starts."""
    catalog = mcp.all_servers()
    if enable_all:
        names = sorted(catalog)
    elif servers:
        names = list(dict.fromkeys(servers))
    else:
        names = enabled_names(mcp)
    missing = [n for n in names if n not in catalog]
    if missing and servers:
        raise ServerNotFoundError(
            f"server {missing[0]} is not in any configured catalog (see docker mcp catalog ls and catalog show)"
        )
    return GatewayConfig(
        servers={n: catalog[n][1] for n in names if n in catalog},
        vanished=tuple(missing),
        settings=server_config(mcp),
        allowed_tools=enabled_tools(mcp),
        tool_filter=tuple(tools),
        env_files=tuple(env_files),
        prefix_all=prefix_all,
    )
