"""Enabled servers (registry.yaml), per-server configuration (config.yaml) and tool allow lists
(tools.yaml), read against every configured catalog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import DockerMcpError
from .schema import Server
from .store import McpDir
from .yamldoc import DocumentError, dump, load, new_map, plain

REGISTRY = "registry.yaml"
CONFIG = "config.yaml"
TOOLS = "tools.yaml"


class ServerNotFoundError(DockerMcpError):
    pass


def server_not_found(name: str) -> str:
    """The one wording of a server name no configured catalog has. "Not found" messages all read
    `KIND "NAME" not found[ in WHERE]: run 'docker mcp …' to list them` (catalogs, secrets, tools too)."""
    return (
        f'server "{name}" not found in any configured catalog: '
        "run 'docker mcp catalog ls' and 'docker mcp catalog show NAME' to list them"
    )


@dataclass(frozen=True)
class EnabledServer:
    name: str
    catalog: str | None  # None: enabled, but no configured catalog has it any more
    server: Server | None


def enabled_names(mcp: McpDir, file: str = REGISTRY) -> list[str]:
    """The servers a registry file enables (registry.yaml, or another given to `gateway run --registry`)."""
    document = mcp.read_yaml_map(file)
    registry = document.get("registry")
    if registry is None:
        return []
    if not isinstance(registry, dict):
        raise DocumentError(f"{mcp.file(file)}: registry: must be a mapping of server names; fix or reset it")
    return sorted(str(k) for k in registry)


def enabled_servers(mcp: McpDir) -> list[EnabledServer]:
    catalog = mcp.all_servers()
    return [
        EnabledServer(n, catalog[n][0], catalog[n][1]) if n in catalog else EnabledServer(n, None, None)
        for n in enabled_names(mcp)
    ]


def enable(mcp: McpDir, names: list[str]) -> list[Server]:
    """Enable servers that exist in a configured catalog; entries for vanished servers are pruned."""
    with mcp.lock():
        catalog = mcp.all_servers()
        missing = [n for n in names if n not in catalog]
        if missing:
            raise ServerNotFoundError(server_not_found(missing[0]))
        enabled = {n for n in enabled_names(mcp) if n in catalog} | set(names)
        _write_registry(mcp, enabled)
    return [catalog[n][1] for n in names]


def disable(mcp: McpDir, names: list[str]) -> list[str]:
    """Disable servers. Returns the names that were not enabled (left alone: the Go plugin ignores them,
    exit 0; the command says so)."""
    with mcp.lock():
        catalog = mcp.all_servers()
        was = set(enabled_names(mcp))
        enabled = {n for n in was if n in catalog} - set(names)
        _write_registry(mcp, enabled)
    return [n for n in dict.fromkeys(names) if n not in was]


def reset(mcp: McpDir) -> None:
    with mcp.lock():
        mcp.write_text(REGISTRY, "")


def _write_registry(mcp: McpDir, names: set[str]) -> None:
    if not names:
        mcp.write_text(REGISTRY, "registry: {}\n")
        return
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    empty = DoubleQuotedScalarString("")  # `ref: ""`, as the Go plugin writes it
    mcp.write_text(REGISTRY, dump(new_map({"registry": {n: {"ref": empty} for n in sorted(names)}})))


# config.yaml


def read_config_text(mcp: McpDir) -> str:
    try:
        with open(mcp.file(CONFIG), encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def write_config(mcp: McpDir, text: str, source: str = "config") -> None:
    """Replace config.yaml with `text`: a mapping of server name to a mapping of values."""
    document = load(text, source)
    if document is not None:
        if not isinstance(document, dict):
            raise DocumentError(f"{source}:1:1: must be a mapping of server names to their settings")
        for key, value in document.items():
            if value is not None and not isinstance(value, dict):
                line = document.lc.key(key)[0] + 1  # type: ignore[attr-defined]
                raise DocumentError(f"{source}:{line}:1: {key}: must be a mapping of settings")
    with mcp.lock():
        mcp.write_text(CONFIG, text)


def reset_config(mcp: McpDir) -> None:
    with mcp.lock():
        mcp.write_text(CONFIG, "")


def server_config(mcp: McpDir, file: str = CONFIG) -> dict[str, dict[str, Any]]:
    return {str(k): plain(v) or {} for k, v in mcp.read_yaml_map(file).items()}


def config_status(server: Server, values: dict[str, Any] | None) -> str:
    """none | required | partial | done: how many of the server's config properties have values."""
    wanted = set()
    for schema in server.config:
        wanted |= _schema_leaves(schema.get("properties") or {})
    if not wanted:
        return "none" if not server.config else "done"
    count = len(wanted & _value_leaves(values or {}))
    return "required" if count == 0 else "done" if count == len(wanted) else "partial"


def _schema_leaves(properties: dict[str, Any], prefix: str = "") -> set[str]:
    """Every property of a JSON-schema-like object, nested objects flattened to `a.b`."""
    keys: set[str] = set()
    for key, spec in properties.items():
        nested = spec.get("properties") if isinstance(spec, dict) else None
        if isinstance(nested, dict) and nested:
            keys |= _schema_leaves(nested, f"{prefix}{key}.")
        else:
            keys.add(f"{prefix}{key}")
    return keys


def _value_leaves(values: dict[str, Any], prefix: str = "") -> set[str]:
    """Every key of the user's settings with a value (not null, "" or {}), flattened the same way."""
    keys: set[str] = set()
    for key, value in values.items():
        if isinstance(value, dict) and value:
            keys |= _value_leaves(value, f"{prefix}{key}.")
        elif value not in (None, "", {}):
            keys.add(f"{prefix}{key}")
    return keys


# tools.yaml


def enabled_tools(mcp: McpDir, file: str = TOOLS) -> dict[str, list[str]]:
    """Server name -> allowed tool names; a server absent from tools.yaml has all its tools enabled."""
    out: dict[str, list[str]] = {}
    for key, value in mcp.read_yaml_map(file).items():
        if value is not None and not isinstance(value, list):
            raise DocumentError(f"{mcp.file(file)}: {key}: must be a list of tool names")
        out[str(key)] = sorted(str(v) for v in value or [])
    return out
