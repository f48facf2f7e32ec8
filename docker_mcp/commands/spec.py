"""The command line's definition, apart from its execution.

Each command module declares its commands with these types and the standard library only, so that
`--help` is rendered (commands/help.py) from the same definition the command line is parsed with
(commands/parse.py). Plain classes (not dataclasses): `--help` is timed, and generating dataclass
methods costs more than it saves here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

Handler = Callable[..., "int | None"]


class Option:
    """A flag. `metavar` empty: a boolean flag (`--flag`, `--flag=false`); else the flag takes a value
    of `type` (str, int or float), one of `choices` when given, every occurrence kept in order when
    `multiple`. `default` is what the handler's own default is, shown by the help page."""

    __slots__ = ("choices", "default", "flags", "help", "metavar", "multiple", "type")

    def __init__(
        self,
        flags: tuple[str, ...],
        help: str,
        metavar: str = "",  # empty: a boolean flag
        choices: tuple[str, ...] = (),
        default: Any = None,
        type: type = str,
        multiple: bool = False,
    ) -> None:
        self.flags, self.help, self.metavar, self.choices = flags, help, metavar, choices
        self.default, self.type, self.multiple = default, type, multiple

    @property
    def dest(self) -> str:
        longest = max(self.flags, key=len)
        return longest.lstrip("-").replace("-", "_")

    @property
    def is_flag(self) -> bool:
        return not self.metavar


class Argument:
    """A positional argument. `complete` names the kind of value shell completion offers for it
    (docker_mcp/completion.py, KINDS): "" nothing, "file" the shell's file names, or a kind of name
    such as "catalog" or "server-enabled"."""

    __slots__ = ("complete", "help", "name", "required", "variadic")

    def __init__(
        self, name: str, help: str = "", variadic: bool = False, required: bool = True, complete: str = ""
    ) -> None:
        self.name, self.help, self.variadic, self.required = name, help, variadic, required
        self.complete = complete

    @property
    def dest(self) -> str:
        return self.name.lower().replace("-", "_")


class Command:
    """A command that runs: `run(global_options, **params)`, params named by Argument.dest and Option.dest
    (commands/parse.py). `short` is its line in its group's list; `long`, when given, the description
    its own help page shows instead (cobra's Short and Long)."""

    __slots__ = ("aliases", "args", "example", "long", "name", "options", "run", "short")

    def __init__(
        self,
        name: str,
        short: str,
        run: Handler,
        args: tuple[Argument, ...] = (),
        options: tuple[Option, ...] = (),
        aliases: tuple[str, ...] = (),
        example: str = "",
        long: str = "",
    ) -> None:
        self.name, self.short, self.run, self.args = name, short, run, args
        self.options, self.aliases, self.example, self.long = options, aliases, example, long


class Group:
    """A command of commands (`short` and `long` as for Command)."""

    __slots__ = ("aliases", "commands", "example", "flag_handlers", "long", "name", "options", "short")

    def __init__(
        self,
        name: str,
        short: str,
        commands: tuple[Command | Group, ...],
        options: tuple[Option, ...] = (),
        aliases: tuple[str, ...] = (),
        example: str = "",
        flag_handlers: dict[str, Handler] | None = None,  # handlers of the group's own flags, by Option.dest
        long: str = "",
    ) -> None:
        self.name, self.short, self.commands, self.options = name, short, commands, options
        self.aliases, self.example, self.flag_handlers = aliases, example, flag_handlers or {}
        self.long = long

    def child(self, name: str) -> Command | Group | None:
        for c in self.commands:
            if name == c.name or name in c.aliases:
                return c
        return None


Node = Command | Group
