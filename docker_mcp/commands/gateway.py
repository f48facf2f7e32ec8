"""docker mcp gateway run"""

from __future__ import annotations

from ..argv import GlobalOptions
from .spec import Command, Group, Option


def _names(values: tuple[str, ...]) -> list[str]:
    """--servers a,b --servers c: comma-separated and repeatable."""
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def run(
    g: GlobalOptions,
    transport: str = "stdio",
    servers: tuple[str, ...] = (),
    enable_all_servers: bool = False,
    tools: tuple[str, ...] = (),
    secrets: tuple[str, ...] = (),
    dry_run: bool = False,
    verbose: bool = False,
    long_lived: bool = False,
    cpus: int = 1,
    memory: str = "2Gb",
    host: str = "127.0.0.1",
    port: int = 8811,
    allow_unauthenticated: bool = False,
) -> int:
    import os
    import uuid

    import anyio

    from ..catalog.store import user_mcp_dir
    from ..features import is_enabled
    from ..gateway.config import load_config
    from ..gateway.front import TRANSPORTS, gateway_token
    from ..gateway.run import RunOptions, backend_builder, configure_logging, serve

    configure_logging(verbose)
    transport = TRANSPORTS[transport]
    env_files = [p for v in secrets for p in v.split(":") if p]
    prefix_all = is_enabled(g.config, "tool-name-prefix")
    config = load_config(user_mcp_dir(), _names(servers), enable_all_servers, _names(tools), env_files, prefix_all)
    gateway_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    token = None if transport == "stdio" or dry_run else gateway_token(allow_unauthenticated, transport)
    options = RunOptions(transport, dry_run, verbose, long_lived, cpus, memory, gateway_id, host, port, token)
    return anyio.run(serve, config, options, backend_builder(g.config, config, options))


GROUP = Group(
    "gateway",
    "Serve one MCP endpoint in front of the enabled servers",
    (
        Command(
            "run",
            "Run the gateway: the enabled servers' tools behind one MCP endpoint",
            run,
            options=(
                Option(
                    ("--transport",),
                    "Front transport",
                    metavar="TRANSPORT",
                    choices=("stdio", "sse", "streaming", "streamable", "http", "streamable-http"),
                    default="stdio",
                ),
                Option(("--host",), "Address the HTTP transports listen on", metavar="HOST", default="127.0.0.1"),
                Option(("--port",), "Port of the HTTP transports", metavar="PORT", type=int, default=8811),
                Option(
                    ("--allow-unauthenticated",),
                    "Serve the HTTP transports without a bearer token (MCP_GATEWAY_AUTH_TOKEN, else generated)",
                ),
                Option(
                    ("--servers",),
                    "Serve these servers (comma-separated) instead of the enabled ones",
                    metavar="NAMES",
                    multiple=True,
                ),
                Option(("--enable-all-servers",), "Serve every server of the configured catalogs"),
                Option(("--tools",), "Serve only these tools (comma-separated)", metavar="NAMES", multiple=True),
                Option(
                    ("--secrets",),
                    ".env files to read secrets from last (colon-separated)",
                    metavar="PATHS",
                    multiple=True,
                ),
                Option(("--long-lived",), "Keep one container per server for the session (default: one per call)"),
                Option(("--cpus",), "CPUs for each container", metavar="N", type=int, default=1),
                Option(("--memory",), "Memory for each container", metavar="SIZE", default="2Gb"),
                Option(("--dry-run",), "Connect, list each server's tools on stderr, and exit"),
                Option(("--verbose",), "Log each step on stderr"),
            ),
            example="docker mcp gateway run --servers slack-official --dry-run",
        ),
    ),
)
