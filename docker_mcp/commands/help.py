"""Help pages rendered from the command specs, with the standard library only (docker mcp … --help,
docker mcp help …), in the docker CLI's layout."""

from __future__ import annotations

import os
import sys

from ..argv import GlobalOptions
from ..errors import UsageError
from .spec import Argument, Command, Group, Node, Option

HELP_FLAGS = ("-h", "--help")
_MIN_NAME_PADDING = 11  # cobra's minNamePadding: the commands column is at least this wide
_TYPE_NAMES = {str: "string", int: "int", float: "float"}  # pflag's names of a flag's value


def render(node: Node, path: list[str]) -> str:
    """`docker mcp PATH --help`, in the docker CLI's layout (the usage template of docker/cli's
    cli/cobra.go): the usage line, the command's own description (`long`, else `short`), Aliases,
    Examples, Arguments (ours: docker commands describe theirs in prose), Options, Commands and, for a
    group, the line pointing at its commands' help."""
    command_path = " ".join(["docker", *path])
    columns = _columns_of_terminal()
    description = "\n\n".join(_wrap(p, 0, columns - 1) for p in (node.long or node.short).strip().split("\n\n"))
    lines = [f"Usage:  {_usage(node, command_path)}", "", description]
    if node.aliases:
        parent = command_path.rsplit(" ", 1)[0]
        lines += ["", "Aliases:", "  " + ", ".join([command_path, *(f"{parent} {a}" for a in node.aliases)])]
    if node.example:
        lines += ["", "Examples:", *("  " + line for line in node.example.splitlines())]
    if isinstance(node, Command) and any(a.help for a in node.args):
        lines += ["", "Arguments:", *_columns([(a.name, a.help) for a in node.args])]
    if node.options:
        lines += ["", "Options:", *_flag_lines(node.options)]
    if isinstance(node, Group):
        width = max(_MIN_NAME_PADDING, *(len(c.name) for c in node.commands))
        lines += ["", "Commands:", *(f"  {c.name.ljust(width)} {c.short}" for c in node.commands)]
        lines += ["", f"Run '{command_path} COMMAND --help' for more information on a command."]
    return "\n".join(lines) + "\n"


def usage_line(node: Node, path: list[str]) -> str:
    """The command's usage line (cobra's UseLine), as its help page and usage errors show it:
    `docker mcp server enable NAME [NAME...]`, `docker mcp catalog show [OPTIONS] [NAME]`."""
    return _usage(node, " ".join(["docker", *path]))


def find(root: Group, words: list[str]) -> tuple[Node, list[str]]:
    """The node `docker mcp WORDS` names and its path (["mcp", …]), through names and aliases.

    Raises UsageError `unknown help topic: WORD` (the docker CLI's `docker help` wording), pointing at
    the help of the group where the word is not a command."""
    node: Node = root
    path = [root.name]
    for word in words:
        child = node.child(word) if isinstance(node, Group) else None
        if child is None:
            raise UsageError(f"unknown help topic: {word}", " ".join(["docker", *path]))
        node, path = child, [*path, child.name]
    return node, path


def _help(g: GlobalOptions, command: tuple[str, ...] = ()) -> None:
    from . import ROOT

    node, path = find(ROOT, list(command))
    sys.stdout.write(render(node, path))


HELP = Command(
    "help",
    "Help about any command",
    _help,
    args=(
        Argument(
            "COMMAND",
            "A group and command, as in docker mcp COMMAND --help",
            variadic=True,
            required=False,
            complete="command",
        ),
    ),
    long="Print the help of a command: `docker mcp help server enable` is `docker mcp server enable --help`, "
    "and `docker mcp help` alone is `docker mcp --help`.",
)


def _usage(node: Node, command_path: str) -> str:
    parts = [command_path]
    if node.options:
        parts.append("[OPTIONS]")
    if isinstance(node, Group):
        parts.append("COMMAND")
    else:
        for a in node.args:
            if a.variadic:
                parts.append(f"{a.name} [{a.name}...]" if a.required else f"[{a.name}...]")
            else:
                parts.append(a.name if a.required else f"[{a.name}]")
    return " ".join(parts)


def _flag_lines(options: tuple[Option, ...]) -> list[str]:
    """pflag's FlagUsagesWrapped: `  -o, --output string   text (default "x")`, the text column wrapped
    to the terminal's width (of stdin, as the docker CLI measures it; 80 when it is not a terminal)."""
    rows = []
    for o in options:
        short = next((f for f in o.flags if not f.startswith("--")), None)
        longs = ", ".join(f for f in o.flags if f.startswith("--"))
        left = (f"  {short}, " if short else "      ") + longs
        if not o.is_flag:
            left += " " + ("strings" if o.multiple else _TYPE_NAMES.get(o.type, "string"))
        text = o.help
        if o.choices:
            text += f" ({'|'.join(o.choices)})"
        if o.default is True:
            text += " (default true)"
        elif isinstance(o.default, str) and o.default:
            text += f' (default "{o.default}")'
        elif o.default not in (None, False, ()):
            text += f" (default {o.default})"
        rows.append((left, text))
    width = max(len(left) for left, _ in rows) + 3
    columns = _columns_of_terminal()
    return [left.ljust(width) + _wrap(text, width, columns - 1) for left, text in rows]


def _columns_of_terminal() -> int:
    """The terminal's width, of stdin as the docker CLI measures it; 80 when stdin is not a terminal."""
    try:
        return os.get_terminal_size(0).columns
    except OSError:
        return 80


def _wrap(text: str, indent: int, width: int) -> str:
    """`text` in lines of at most `width - indent` characters, the later ones indented by `indent`;
    unwrapped when fewer than 24 columns are left (pflag does the same). Words are never split."""
    room = width - indent
    if room < 24:
        return text
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > room:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return ("\n" + " " * indent).join(lines)


def _columns(rows: list[tuple[str, str]]) -> list[str]:
    width = max(len(left) for left, _ in rows)
    return [f"  {left.ljust(width)}   {text}".rstrip() for left, text in rows]
