"""The command line's definition, apart from its execution.

Each command module declares its commands with these types and the standard library only, so that
`--help` is rendered from the same definition click parses with, without importing click. Plain classes
(not dataclasses): `--help` is timed, and generating dataclass methods costs more than it saves here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

Handler = Callable[..., "int | None"]


class Option:
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
    __slots__ = ("help", "name", "required", "variadic")

    def __init__(self, name: str, help: str = "", variadic: bool = False, required: bool = True) -> None:
        self.name, self.help, self.variadic, self.required = name, help, variadic, required

    @property
    def dest(self) -> str:
        return self.name.lower().replace("-", "_")


class Command:
    __slots__ = ("aliases", "args", "example", "name", "options", "run", "short")

    def __init__(
        self,
        name: str,
        short: str,
        run: Handler,
        args: tuple[Argument, ...] = (),
        options: tuple[Option, ...] = (),
        aliases: tuple[str, ...] = (),
        example: str = "",
    ) -> None:
        self.name, self.short, self.run, self.args = name, short, run, args
        self.options, self.aliases, self.example = options, aliases, example


class Group:
    __slots__ = ("aliases", "commands", "example", "flag_handlers", "name", "options", "short")

    def __init__(
        self,
        name: str,
        short: str,
        commands: tuple[Command | Group, ...],
        options: tuple[Option, ...] = (),
        aliases: tuple[str, ...] = (),
        example: str = "",
        flag_handlers: dict[str, Handler] | None = None,  # handlers of the group's own flags, by Option.dest
    ) -> None:
        self.name, self.short, self.commands, self.options = name, short, commands, options
        self.aliases, self.example, self.flag_handlers = aliases, example, flag_handlers or {}

    def child(self, name: str) -> Command | Group | None:
        for c in self.commands:
            if name == c.name or name in c.aliases:
                return c
        return None


Node = Command | Group
