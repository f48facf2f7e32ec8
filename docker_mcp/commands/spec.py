"""The command line's definition, apart from its execution.

Each command module declares its commands with these types and the standard library only, so that
`--help` is rendered from the same definition click parses with, without importing click.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[..., int | None]


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]
    help: str
    metavar: str = ""  # empty: a boolean flag
    choices: tuple[str, ...] = ()
    default: Any = None
    type: type = str
    multiple: bool = False

    @property
    def dest(self) -> str:
        longest = max(self.flags, key=len)
        return longest.lstrip("-").replace("-", "_")

    @property
    def is_flag(self) -> bool:
        return not self.metavar


@dataclass(frozen=True)
class Argument:
    name: str
    help: str = ""
    variadic: bool = False
    required: bool = True

    @property
    def dest(self) -> str:
        return self.name.lower().replace("-", "_")


@dataclass(frozen=True)
class Command:
    name: str
    short: str
    run: Handler
    args: tuple[Argument, ...] = ()
    options: tuple[Option, ...] = ()
    aliases: tuple[str, ...] = ()
    example: str = ""


@dataclass(frozen=True)
class Group:
    name: str
    short: str
    commands: tuple[Command | Group, ...]
    options: tuple[Option, ...] = ()
    aliases: tuple[str, ...] = ()
    example: str = ""
    # Handlers for the group's own flags (the root's --version), keyed by Option.dest.
    flag_handlers: dict[str, Handler] = field(default_factory=dict)

    def child(self, name: str) -> Command | Group | None:
        for c in self.commands:
            if name == c.name or name in c.aliases:
                return c
        return None


Node = Command | Group
