"""docker mcp tools ls | count | inspect | call — the gateway's tools, seen in-process as a client would."""

from __future__ import annotations

import json
import sys
from typing import Any

from ..argv import GlobalOptions
from ..errors import DockerMcpError, UsageError
from ..output import print_json, print_table
from .listing import OPTIONS as LISTING_OPTIONS
from .listing import Listing
from .spec import Argument, Command, Group, Option

SERVERS = Option(
    ("--servers",), "Only these servers (comma-separated; default: the enabled ones)", metavar="NAMES", multiple=True
)
FORMAT = Option(("--format",), "Print the result, and errors, as JSON", metavar="FORMAT", choices=("json",))


def _run(g: GlobalOptions, servers: tuple[str, ...], body: Any) -> Any:
    import anyio

    from ..catalog.store import user_mcp_dir
    from ..features import is_enabled
    from ..gateway.config import load_config
    from ..gateway.run import RunOptions, backend_builder, configure_logging, with_aggregator
    from .gateway import _names

    configure_logging(False)
    config = load_config(user_mcp_dir(), _names(servers), prefix_all=is_enabled(g.config, "tool-name-prefix"))
    return anyio.run(with_aggregator, config, backend_builder(g.config, config, RunOptions()), body)


def _tool_json(route: Any) -> dict[str, Any]:
    """The MCP Tool as the gateway serves it (the Go plugin prints the same), plus the server it comes from."""
    tool = route.tool.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {
        "name": route.tool.name,
        "server": route.backend.name,
        "description": route.tool.description or "",
        "inputSchema": route.tool.input_schema,
        **{k: v for k, v in tool.items() if k not in ("name", "description", "inputSchema")},
    }


TOOL_KEYS = (  # a `tools ls --format json` element: the MCP Tool, plus server
    *("name", "server", "description", "inputSchema", "title", "annotations", "outputSchema", "icons"),
    *("execution", "_meta"),
)


def ls(
    g: GlobalOptions,
    servers: tuple[str, ...] = (),
    format: str | None = None,
    json: bool = False,
    quiet: bool = False,
) -> None:
    listing = Listing("docker mcp tools ls", format, json, quiet, TOOL_KEYS)  # before any server starts

    async def body(aggregator: Any) -> list[dict[str, Any]]:
        return [_tool_json(r) for r in aggregator.routes.values()]

    tools = sorted(_run(g, servers, body), key=lambda t: t["name"])
    if listing.kind == "json":
        print_json(tools)
    elif listing.kind != "table":
        listing.print(tools)
    else:
        print_table(
            ("NAME", "SERVER", "DESCRIPTION"), [(t["name"], t["server"], _first_line(t["description"])) for t in tools]
        )


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 80 else line[:77] + "..."


def count(g: GlobalOptions, servers: tuple[str, ...] = (), format: str | None = None) -> None:
    async def body(aggregator: Any) -> int:
        return len(aggregator.routes)

    n = _run(g, servers, body)
    if format == "json":
        print_json({"count": n})
    else:
        sys.stdout.write(f"{n} tools\n")


def inspect(g: GlobalOptions, tool: str, servers: tuple[str, ...] = (), format: str | None = None) -> None:
    # always JSON; --format json is accepted as the Go plugin's tools commands take it
    async def body(aggregator: Any) -> dict[str, Any] | None:
        route = aggregator.routes.get(tool)
        return _tool_json(route) if route else None

    found = _run(g, servers, body)
    if found is None:
        raise DockerMcpError(f"tool \"{tool}\" not found: run 'docker mcp tools ls' to list them")
    print_json(found)


def call(
    g: GlobalOptions,
    tool: str,
    arguments: tuple[str, ...] = (),
    servers: tuple[str, ...] = (),
    format: str | None = None,
) -> int:
    parsed: dict[str, Any] = {}
    for item in arguments:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"argument {item!r} is not key=value", "docker mcp tools call")
        try:
            parsed[key] = json.loads(value)  # numbers, booleans, lists, objects
        except ValueError:
            parsed[key] = value

    async def body(aggregator: Any) -> Any:
        if tool not in aggregator.routes:
            raise DockerMcpError(f"tool \"{tool}\" not found: run 'docker mcp tools ls' to list them")
        return await aggregator.call_tool(tool, parsed)

    result = _run(g, servers, body)
    if format == "json":
        if result.is_error:  # in JSON mode a failure is the error object on stderr, as for any command
            raise DockerMcpError(f"error calling tool {tool}: {_text(result)}")
        print_json(result.model_dump(mode="json", by_alias=True, exclude_none=True))
    else:
        for item in result.content:
            sys.stdout.write(
                (
                    item.text
                    if getattr(item, "type", "") == "text"
                    else json.dumps(item.model_dump(mode="json", by_alias=True, exclude_none=True))
                )
                + "\n"
            )
    return 1 if result.is_error else 0


def _text(result: Any) -> str:
    return " ".join(" ".join(getattr(item, "text", "").split()) for item in result.content).strip()


GROUP = Group(
    "tools",
    "List, inspect and call the tools the gateway serves",
    (
        Command(
            "ls",
            "List the tools",
            ls,
            options=(SERVERS, *LISTING_OPTIONS),
            aliases=("list",),
            long="List the tools of the enabled servers (or those of --servers) as the gateway serves them, with the server each comes from.",
        ),
        Command(
            "count",
            "Count the tools",
            count,
            options=(SERVERS, FORMAT),
            long="Count the tools of the enabled servers (or those of --servers) as the gateway serves them.",
        ),
        Command(
            "inspect",
            "Show a tool's description and input schema as JSON",
            inspect,
            args=(Argument("TOOL", "A tool name", complete="tool"),),
            options=(SERVERS, FORMAT),
            long="Show a tool's description and input schema, as the gateway serves it, as JSON.",
        ),
        Command(
            "call",
            "Call a tool with key=value arguments (values are JSON when they parse as JSON)",
            call,
            args=(
                Argument("TOOL", "A tool name", complete="tool"),
                Argument("ARGUMENTS", "key=value pairs", variadic=True, required=False),
            ),
            options=(SERVERS, FORMAT),
            example="docker mcp tools call get_current_time timezone=UTC",
            long="Call a tool with key=value arguments: a value that parses as JSON (a number, true, a list, an object) is passed as such, any other as a string. Prints the tool's result; exits 1 when the tool answers with an error.",
        ),
    ),
    long="List, inspect and call the tools the gateway serves. Each command connects to the enabled servers (or those of --servers) as the gateway does, and disconnects when done.",
)
