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

    def tool_enabled(self, server: str, tool: str) -> bool:
        if self.tool_filter and tool not in self.tool_filter:
            return False
        allowed = self.allowed_tools.get(server)
        return allowed is None or tool in allowed


def load_config(
    mcp: McpDir,
    servers: Sequence[str] = (),
    enable_all: bool = False,
    tools: Sequence[str] = (),
    env_files: Sequence[str] = (),
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
    )
