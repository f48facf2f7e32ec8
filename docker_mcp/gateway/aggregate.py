"""Aggregation and routing: the tools of every connected backend under one list, a name collision being
a startup error that names both servers, and each call sent to the backend that owns the tool. A failing
backend fails that call, never the gateway."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import mcp_types as types

from ..errors import DockerMcpError
from .backends import Backend
from .config import GatewayConfig

log = logging.getLogger("docker_mcp.gateway")


class CollisionError(DockerMcpError):
    pass


@dataclass(frozen=True)
class Route:
    backend: Backend
    tool: types.Tool


class Aggregator:
    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.routes: dict[str, Route] = {}

    async def add(self, backend: Backend) -> list[types.Tool]:
        """Take a connected backend's enabled tools; a name another server already has is an error."""
        tools = [t for t in await backend.list_tools() if self.config.tool_enabled(backend.name, t.name)]
        for tool in tools:
            other = self.routes.get(tool.name)
            if other is not None:
                raise CollisionError(
                    f'tool "{tool.name}" is offered by both {other.backend.name} and {backend.name}: '
                    "disable one of them, or enable only one of the tools with --tools"
                )
        for tool in tools:
            self.routes[tool.name] = Route(backend, tool)
        return tools

    def tools(self) -> list[types.Tool]:
        return [r.tool for r in self.routes.values()]

    async def call_tool(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        route = self.routes.get(name)
        if route is None:
            return error_result(f"unknown tool: {name}")
        try:
            return await route.backend.call_tool(name, arguments)
        except Exception as e:
            reason = route.backend.explain(e)
            log.warning("%s: tool %s failed: %s", route.backend.name, name, reason)
            prefix = f"{route.backend.name}: "
            return error_result(reason if reason.startswith(prefix) else prefix + reason)


def error_result(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)
