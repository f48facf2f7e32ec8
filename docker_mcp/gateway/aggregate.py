"""Aggregation and routing: the tools of every connected backend under one list, a name collision being
a startup error that names both servers, and each call sent to the backend that owns the tool. A failing
backend fails that call, never the gateway."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import mcp_types as types

from ..errors import DockerMcpError
from .backends import Backend
from .config import GatewayConfig

log = logging.getLogger("docker_mcp.gateway")
T = TypeVar("T")
Pick = Callable[[Backend], Awaitable[Backend]]  # which connection to a server serves this request


async def shared(backend: Backend) -> Backend:
    """The Pick of a single client (stdio, `docker mcp tools`): every request uses the one connection."""
    return backend


class CollisionError(DockerMcpError):
    pass


@dataclass(frozen=True)
class Route:
    backend: Backend
    tool: types.Tool  # as the gateway exposes it (maybe prefixed)
    original: str  # the name the server knows it by


class Aggregator:
    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.routes: dict[str, Route] = {}  # tool name -> server
        self.prompts: dict[str, tuple[Backend, types.Prompt]] = {}
        self.resources: dict[str, tuple[Backend, types.Resource]] = {}
        self.templates: list[tuple[Backend, types.ResourceTemplate]] = []
        self._backends: list[Backend] = []
        self._tool_dicts: list[dict[str, Any]] | None = None

    async def add(self, backend: Backend) -> list[types.Tool]:
        """Take a connected backend's enabled tools, its prompts and resources; a name (or URI) another
        server already has is an error naming both."""
        listing = await backend.listing()
        tools = [
            Route(backend, t.model_copy(update={"name": self.config.exposed_name(backend.name, t.name)}), t.name)
            for t in listing.tools
            if self.config.tool_enabled(backend.name, t.name)
        ]
        for kind, names, taken in (
            ("tool", [r.tool.name for r in tools], {n: r.backend for n, r in self.routes.items()}),
            ("prompt", [p.name for p in listing.prompts], {n: b for n, (b, _) in self.prompts.items()}),
            ("resource", [str(r.uri) for r in listing.resources], {u: b for u, (b, _) in self.resources.items()}),
        ):
            for name in names:
                if name in taken:
                    raise CollisionError(
                        f'{kind} "{name}" is offered by both {taken[name].name} and {backend.name}: '
                        "disable one of them"
                        + (", or enable only one of the tools with --tools" if kind == "tool" else "")
                    )
        self._tool_dicts = None
        for route in tools:
            self.routes[route.tool.name] = route
        self.prompts.update((p.name, (backend, p)) for p in listing.prompts)
        self.resources.update((str(r.uri), (backend, r)) for r in listing.resources)
        self.templates += [(backend, t) for t in listing.templates]
        self._backends.append(backend)
        return [r.tool for r in tools]

    def backends(self) -> list[Backend]:
        """Every server added, in order."""
        return list(self._backends)

    def tools(self) -> list[types.Tool]:
        return [r.tool for r in self.routes.values()]

    def tool_dicts(self) -> list[dict[str, Any]]:
        """The tools as tools/list sends them (computed once per aggregate)."""
        if self._tool_dicts is None:
            self._tool_dicts = [
                r.tool.model_dump(by_alias=True, mode="json", exclude_none=True) for r in self.routes.values()
            ]
        return self._tool_dicts

    def resource_owner(self, uri: str) -> Backend | None:
        """The server of a resource: the one listing the URI, else the one whose template matches it."""
        return self.resources[uri][0] if uri in self.resources else self._template_owner(uri)

    def completion_owner(self, ref: dict[str, Any]) -> Backend | None:
        """The server a completion/complete `ref` names: `ref/prompt` by prompt name, `ref/resource` by
        resource template (or URI). MCP spec server/utilities/completion."""
        if ref.get("type") == "ref/prompt" and isinstance(ref.get("name"), str):
            owner = self.prompts.get(ref["name"])
            return owner[0] if owner is not None else None
        uri = ref.get("uri")
        if ref.get("type") == "ref/resource" and isinstance(uri, str):
            for backend, template in self.templates:
                if str(template.uri_template) == uri:
                    return backend
            return self.resource_owner(uri)
        return None

    async def call_tool(self, name: str, arguments: dict[str, Any] | None, pick: Pick = shared) -> types.CallToolResult:
        route = self.routes.get(name)
        if route is None:
            return error_result(f"unknown tool: {name}")
        try:
            return await (await pick(route.backend)).call_tool(route.original, arguments)
        except Exception as e:
            reason = route.backend.explain(e)
            log.warning("%s: tool %s failed: %s", route.backend.name, name, reason)
            prefix = f"{route.backend.name}: "
            return error_result(reason if reason.startswith(prefix) else prefix + reason)

    def _template_owner(self, uri: str) -> Backend | None:
        for backend, template in self.templates:
            literal = str(template.uri_template).split("{", 1)[0]
            if literal and uri.startswith(literal):
                return backend
        return None


def error_result(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)
