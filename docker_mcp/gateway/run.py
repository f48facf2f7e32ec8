"""`docker mcp gateway run`: load the configuration, connect every server, aggregate, then serve the
front transport (stdio) until the client goes away. Logs go to stderr: stdout is the stdio channel."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types as types

from ..catalog.schema import Server
from ..errors import DockerMcpError
from ..secrets.resolver import SecretSources, resolve_secret
from ..secrets.store import CredentialStore
from .aggregate import Aggregator
from .backends import Backend, BackendError, describe, expand_headers, remote_transport
from .config import GatewayConfig

log = logging.getLogger("docker_mcp.gateway")


@dataclass(frozen=True)
class RunOptions:
    transport: str = "stdio"
    dry_run: bool = False
    verbose: bool = False


def make_backend(
    server: Server,
    sources: SecretSources,
    open_store: Callable[[], CredentialStore],
    refresher: Callable[[], Any],
) -> Backend:
    """The backend for one server, or BackendError saying why it cannot run here."""
    if server.type == "remote" or (not server.image and (server.remote.url or server.sse_endpoint)):
        headers = expand_headers(server, lambda name, env: resolve_secret(name, env, sources).value)
        auth = None
        if _uses_oauth(server, open_store):
            from .auth import BearerToken

            auth = BearerToken(refresher(), server.name)
        return Backend(server.name, remote_transport(server, headers, auth), auth=auth)
    raise BackendError(f"{server.name}: container servers are not supported by this gateway yet")


def _uses_oauth(server: Server, open_store: Callable[[], CredentialStore]) -> bool:
    if server.oauth is not None:
        return True
    from ..oauth.clients import load_client

    try:
        return load_client(open_store(), server.name) is not None  # authorized by dynamic registration
    except Exception:
        return False


async def connect_all(
    config: GatewayConfig, tg: Any, build: Callable[[Server], Backend], aggregator: Aggregator
) -> list[str]:
    """Connect every server; one that cannot connect is reported and left out. Returns the problems."""
    problems: list[str] = []
    for name in config.vanished:
        problems.append(f"{name}: enabled, but no configured catalog has it any more")
    for name, server in config.servers.items():
        try:
            backend = build(server)
            await backend.start(tg)
        except Exception as e:
            problems.append(describe(e) if str(e).startswith(name) else f"{name}: {describe(e)}")
            continue
        await aggregator.add(backend)  # a collision stops the gateway: it is a configuration error
    for problem in problems:
        log.warning("! %s", problem)
    return problems


def front_server(aggregator: Aggregator) -> Any:
    from mcp.server.lowlevel import Server as McpServer

    from ..metadata import version

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=aggregator.tools())

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        return await aggregator.call_tool(params.name, params.arguments)

    return McpServer("docker-mcp-gateway", version=version(), on_list_tools=list_tools, on_call_tool=call_tool)


async def serve(config: GatewayConfig, options: RunOptions, build: Callable[[Server], Backend]) -> int:
    try:
        return await _serve(config, options, build)
    except BaseExceptionGroup as group:
        # the task group wraps what stops the gateway (e.g. a tool-name collision): report that one error
        actionable = [e for e in _leaves(group) if isinstance(e, DockerMcpError)]
        if actionable:
            raise actionable[0] from None
        raise


def _leaves(group: BaseExceptionGroup[Any]) -> list[BaseException]:
    out: list[BaseException] = []
    for e in group.exceptions:
        out += _leaves(e) if isinstance(e, BaseExceptionGroup) else [e]
    return out


async def _serve(config: GatewayConfig, options: RunOptions, build: Callable[[Server], Backend]) -> int:
    aggregator = Aggregator(config)
    async with anyio.create_task_group() as tg:
        await connect_all(config, tg, build, aggregator)
        if options.dry_run:
            _print_dry_run(aggregator)
        else:
            from mcp.server.stdio import stdio_server

            server = front_server(aggregator)
            log.info("> Gateway ready: %d tools from %d servers, on stdio", len(aggregator.routes), len(config.servers))
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())
        tg.cancel_scope.cancel()
    return 0


def _print_dry_run(aggregator: Aggregator) -> None:
    by_server: dict[str, list[str]] = {}
    for name, route in aggregator.routes.items():
        by_server.setdefault(route.backend.name, []).append(name)
    for server, tools in sorted(by_server.items()):
        sys.stderr.write(f"> {server}: {len(tools)} tools: {', '.join(sorted(tools))}\n")
    sys.stderr.write(f"> Dry run: {len(aggregator.routes)} tools; not serving\n")


def configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)  # stdout is the stdio channel
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("docker_mcp.gateway")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False
