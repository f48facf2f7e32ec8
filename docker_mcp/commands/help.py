"""Help text rendered from the command specs, with the standard library only (docker mcp … --help)."""

from __future__ import annotations

from .spec import Command, Group, Node, Option

HEADER = "Docker MCP Toolkit's CLI - Manage your MCP servers and clients."


def render(node: Node, path: list[str]) -> str:
    command_path = " ".join(["docker", *path])
    lines = [HEADER, "", f"Usage: {_usage(node, command_path)}"]
    if node.aliases:
        lines += ["", "Aliases:", "  " + ", ".join([node.name, *node.aliases])]
    if node.options:
        lines += ["", "Flags:", *_flag_lines(node.options)]
    if isinstance(node, Command) and any(a.help for a in node.args):
        lines += ["", "Arguments:", *_columns([(a.name, a.help) for a in node.args])]
    if isinstance(node, Group):
        lines += ["", "Available Commands:", *_columns([(c.name, c.short) for c in node.commands])]
        lines += ["", f"Run '{command_path} COMMAND --help' for more information on a command."]
    if node.example:
        lines += ["", "Examples:", *("  " + line for line in node.example.splitlines())]
    return "\n".join(lines) + "\n"


def usage_line(node: Node, path: list[str]) -> str:
    return _usage(node, " ".join(["docker", *path]))


def _usage(node: Node, command_path: str) -> str:
    parts = [command_path]
    if node.options:
        parts.append("[OPTIONS]")
    if isinstance(node, Group):
        parts.append("COMMAND")
    else:
        for a in node.args:
            name = a.name + ("..." if a.variadic else "")
            parts.append(name if a.required else f"[{name}]")
    return " ".join(parts)


def _flag_lines(options: tuple[Option, ...]) -> list[str]:
    rows = []
    for o in options:
        short = next((f for f in o.flags if not f.startswith("--")), None)
        longs = ", ".join(f for f in o.flags if f.startswith("--"))
        left = (f"{short}, " if short else "    ") + longs
        if o.metavar:
            left += " " + o.metavar
        text = o.help
        if o.choices:
            text += f" ({'|'.join(o.choices)})"
        if o.default not in (None, False, ()) and o.default is not True:  # a flag on by default says so itself
            text += f" (default {o.default})"
        rows.append((left, text))
    return _columns(rows)


def _columns(rows: list[tuple[str, str]]) -> list[str]:
    width = max(len(left) for left, _ in rows)
    return [f"  {left.ljust(width)}   {text}".rstrip() for left, text in rows]
