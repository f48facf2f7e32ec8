"""docker mcp gateway run"""

from __future__ import annotations

import sys

from ..argv import GlobalOptions
from .spec import Command, Group, Option


def _names(values: tuple[str, ...]) -> list[str]:
    """--servers a,b --servers c: comma-separated and repeatable."""
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


PORT_ENV = "MCP_GATEWAY_PORT"
# The gateway's event loop: anyio's asyncio backend on uvloop (libuv), whose loop costs a message less
# than asyncio's own. scripts/bench gateway --calls 300, two runs each way, alternated, on one machine:
# a remote server through the gateway over stdio 1.22x/1.22x direct on asyncio, 1.16x/1.14x on uvloop,
# over streamable HTTP 1.69x/1.70x and 1.63x/1.59x; the container cases moved less than the machine's
# noise between runs. anyio.run's backend_options (anyio docs, "Running async programs": use_uvloop).
LOOP = {"use_uvloop": sys.platform != "win32"}  # uvloop has no Windows build (setup.cfg)


def _port_from_env() -> int | None:
    """The HTTP transports' port from MCP_GATEWAY_PORT (what the image and a stack file set), when
    --port is not given; None when unset. Raises DockerMcpError for a value that is not a port."""
    import os

    from ..errors import DockerMcpError

    raw = os.environ.get(PORT_ENV, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise DockerMcpError(
            f"{PORT_ENV}={raw[:20]!r} is not a port number from 1 to 65535: set it to one, or unset it"
        )
    return int(raw)


def _stdin_open() -> bool:
    """Whether stdin can carry a client's messages: a pipe, a socket, a terminal or a file; not
    /dev/null (what `docker run` without -i gives a container) nor a closed descriptor."""
    import os
    import stat

    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return False
    return not stat.S_ISCHR(mode) or os.isatty(0)


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
    host: str | None = None,
    port: int | None = None,
    allow_unauthenticated: bool = False,
    catalog: tuple[str, ...] = (),
    additional_catalog: tuple[str, ...] = (),
    registry: tuple[str, ...] = (),
    config: tuple[str, ...] = (),
    tools_config: tuple[str, ...] = (),
    log_calls: bool = True,
    watch: bool | None = None,
    stateless: bool = False,
) -> int:
    import os
    import uuid

    import anyio

    from ..catalog.store import user_mcp_dir
    from ..desktop.detect import DesktopMode
    from ..dockercli import home_dir
    from ..errors import DockerMcpError, UsageError
    from ..features import is_enabled
    from ..gateway.config import ConfigFiles, load_config
    from ..gateway.front import TRANSPORTS, gateway_token
    from ..gateway.run import RunOptions, backend_builder, configure_logging, serve

    if enable_all_servers and servers:
        raise UsageError("cannot use --enable-all-servers with --servers flag", "docker mcp gateway run")
    if port is not None and TRANSPORTS[transport] == "stdio":
        raise UsageError("cannot use --port with --transport=stdio", "docker mcp gateway run")
    if stateless and TRANSPORTS[transport] != "streaming":
        raise UsageError("cannot use --stateless without --transport=streaming", "docker mcp gateway run")
    if port is not None and not 0 <= port <= 65535:  # 0: the default, 8811, as in the Go plugin
        raise UsageError(f"--port must be a port number from 1 to 65535, not {port}", "docker mcp gateway run")
    configure_logging(verbose, log_calls)
    transport = TRANSPORTS[transport]
    if port is None and transport != "stdio":
        port = _port_from_env()
    env_files = [p for v in secrets for p in v.split(":") if p]
    prefix_all = is_enabled(g.config, "tool-name-prefix")
    files = ConfigFiles(
        catalogs=tuple(_names(catalog)),
        additional_catalogs=tuple(_names(additional_catalog)),
        registries=tuple(_names(registry)) or ConfigFiles.registries,
        configs=tuple(_names(config)) or ConfigFiles.configs,
        tools=tuple(_names(tools_config)) or ConfigFiles.tools,
    )
    mcp = user_mcp_dir()
    wanted = (_names(servers), enable_all_servers, _names(tools), env_files, prefix_all, files)
    loaded = load_config(mcp, *wanted)
    gateway_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    mode = DesktopMode(home_dir())  # one mode for the run, whatever --watch reloads
    token = None if transport == "stdio" or dry_run else gateway_token(allow_unauthenticated, transport)
    in_container = os.environ.get("DOCKER_MCP_IN_CONTAINER") == "1"
    if in_container and transport == "stdio" and not dry_run and not _stdin_open():
        raise DockerMcpError(
            "nothing to serve on stdio: stdin is not open (docker run without -i); "
            "serve over HTTP with --transport streaming, or give the container a stdin with -i"
        )
    if watch is None:  # on, as the Go gateway on a host; off in a container
        watch = not in_container
    if host is None:  # loopback on a host; in a container, every interface (its clients are outside it)
        host = "0.0.0.0" if in_container else "127.0.0.1"
    options = RunOptions(
        transport,
        dry_run,
        verbose,
        long_lived,
        cpus,
        memory,
        gateway_id,
        host,
        port or 8811,
        token,
        log_calls,
        watch,
        stateless,
    )
    return anyio.run(
        serve,
        loaded,
        options,
        lambda c: backend_builder(g.config, c, options, mode),
        lambda: load_config(mcp, *wanted),
        files.watched(mcp, servers_given=bool(servers) or enable_all_servers),
        backend_options=LOOP,
    )


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
                Option(
                    ("--host",),
                    "Address the HTTP transports listen on (default 127.0.0.1; 0.0.0.0 in a container)",
                    metavar="HOST",
                ),
                Option(
                    ("--port",),
                    "Port of the HTTP transports (default MCP_GATEWAY_PORT, else 8811)",
                    metavar="PORT",
                    type=int,
                ),
                Option(
                    ("--stateless",),
                    "Streamable HTTP without sessions: any of several replicas can answer any request",
                ),
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
                Option(
                    ("--catalog",),
                    "Catalogs to read instead of the configured ones: names, files or https URLs",
                    metavar="CATALOGS",
                    multiple=True,
                ),
                Option(
                    ("--additional-catalog",), "Catalogs to read after the others", metavar="CATALOGS", multiple=True
                ),
                Option(
                    ("--registry",),
                    "Registry files naming the enabled servers (default registry.yaml)",
                    metavar="FILES",
                    multiple=True,
                ),
                Option(("--config",), "Server settings files (default config.yaml)", metavar="FILES", multiple=True),
                Option(
                    ("--tools-config",), "Tool allow-list files (default tools.yaml)", metavar="FILES", multiple=True
                ),
                Option(
                    ("--watch",),
                    "Reload when a registry, config or tools file changes (--watch=false: off)",
                    default=True,
                ),
                Option(("--log-calls",), "Log each tool call on stderr (--log-calls=false: off)", default=True),
                Option(
                    ("--long-lived",),
                    "Keep one container per server for each client session (default: one per call)",
                ),
                Option(("--cpus",), "CPUs for each container", metavar="N", type=int, default=1),
                Option(("--memory",), "Memory for each container", metavar="SIZE", default="2Gb"),
                Option(("--dry-run",), "Connect, list each server's tools on stderr, and exit"),
                Option(("--verbose",), "Log each step on stderr"),
            ),
            example="docker mcp gateway run --servers slack-official --dry-run",
            long="Run the gateway: connect to the enabled servers (or those of --servers) and serve their tools, prompts and resources behind one MCP endpoint, on stdio (the default) or over HTTP (--transport sse or streaming, on --port). Container servers run with docker run; remote servers are reached over HTTP, with their OAuth token when they need one. The HTTP transports ask clients for a bearer token (MCP_GATEWAY_AUTH_TOKEN, else a generated one) unless --allow-unauthenticated.",
        ),
    ),
    long="Serve one MCP endpoint in front of the enabled servers: MCP clients connect to the gateway, which starts or connects to each server and routes each request to the server it is for.",
)
