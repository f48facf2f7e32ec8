"""A command's arguments parsed by its spec, the way the docker CLI's pflag and cobra parse them.

- `--name value` and `--name=value`; `-n value`, `-nvalue` and `-n=value`; boolean short flags cluster
  (`-qa`). A flag that takes a value takes the next argument whatever it is (`--port -1`).
- A boolean flag takes no separate value: `--flag` is true, `--flag=false` false (pflag's ParseBool
  spellings: 1 t T true TRUE True, 0 f F false FALSE False).
- Flags and positional arguments mix in any order; `--` ends the flags; `-` alone is an argument.
- A flag given twice: the last value wins, unless the option is `multiple` (every value, in order).

Errors are UsageErrors in the docker CLI's words (pflag's flag errors, docker/cli cli/required.go's
argument-count errors), each followed by a blank line and the command's `Usage:` line.
"""

from __future__ import annotations

from typing import Any

from ..errors import UsageError
from .spec import Argument, Option

_TRUE = frozenset(("1", "t", "T", "true", "TRUE", "True"))
_FALSE = frozenset(("0", "f", "F", "false", "FALSE", "False"))


def parse(
    options: tuple[Option, ...], arguments: tuple[Argument, ...], args: list[str], command_path: str, usage: str
) -> dict[str, Any]:
    """The handler's keyword arguments for `args`: each given option by Option.dest (bool, str, int or
    float; a tuple when `multiple`), each given argument by Argument.dest (a tuple for a variadic one).
    What is not given is left out, so that the handler's own default applies.

    Raises UsageError: `unknown flag: --x`, `unknown shorthand flag: 'x' in -x`, `flag needs an
    argument: --x`, `invalid argument "v" for "--x" flag: …`, and `docker: 'docker mcp …' requires at
    least N argument(s)` / `requires N` / `requires at most N` / `accepts no arguments`."""
    longs: dict[str, Option] = {}
    shorts: dict[str, Option] = {}
    for option in options:
        for flag in option.flags:
            if flag.startswith("--"):
                longs[flag[2:]] = option
            else:
                shorts[flag[1:]] = option
    values: dict[str, Any] = {}
    positionals: list[str] = []

    def fail(message: str, hint: str = "Run") -> UsageError:
        return UsageError(f"{message}\n\nUsage:  {usage}", command_path, hint)

    def give(option: Option, value: str) -> None:
        converted = _convert(option, value)
        if isinstance(converted, str) and not option.is_flag and option.type is not str:
            raise fail(f"invalid argument {_quote(value)} for {_quote(_names(option))} flag: {converted}")
        if option.choices and value not in option.choices:
            allowed = ", ".join(f"'{c}'" for c in option.choices)
            raise fail(
                f"invalid argument {_quote(value)} for {_quote(_names(option))} flag: '{value}' is not one of {allowed}"
            )
        if option.multiple:
            values[option.dest] = (*values.get(option.dest, ()), converted)
        else:
            values[option.dest] = converted

    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            positionals += args[i:]
            break
        if arg.startswith("--"):
            name, eq, inline = arg[2:].partition("=")
            if not name or name.startswith("-"):
                raise fail(f"bad flag syntax: {arg}")
            found = longs.get(name)
            if found is None:
                raise fail(f"unknown flag: --{name}")
            if eq or found.is_flag:
                value = inline if eq else "true"
            elif i < len(args):
                value, i = args[i], i + 1
            else:
                raise fail(f"flag needs an argument: {arg}")
            _check_bool(found, value, fail)
            give(found, value)
        elif arg.startswith("-") and len(arg) > 1:
            cluster = arg[1:]
            while cluster:
                letter, rest = cluster[0], cluster[1:]
                found = shorts.get(letter)
                if found is None:
                    raise fail(f"unknown shorthand flag: '{letter}' in -{cluster}")
                if rest.startswith("=") and len(rest) > 1:  # -f=value
                    value, rest = rest[1:], ""
                elif found.is_flag:
                    value = "true"
                elif rest:  # -fvalue
                    value, rest = rest, ""
                elif i < len(args):
                    value, i = args[i], i + 1
                else:
                    raise fail(f"flag needs an argument: '{letter}' in -{cluster}")
                _check_bool(found, value, fail)
                give(found, value)
                cluster = rest
        else:
            positionals.append(arg)
    _check_count(arguments, len(positionals), command_path, fail)
    for argument in arguments:
        if not positionals:
            break
        if argument.variadic:
            values[argument.dest], positionals = tuple(positionals), []
        else:
            values[argument.dest] = positionals.pop(0)
    return values


def _convert(option: Option, value: str) -> Any:
    """The value as the option's type; a str saying what is wrong when it is not one."""
    if option.is_flag:
        return value in _TRUE
    if option.type is int:
        try:
            return int(value, 10)
        except ValueError:
            return "not an integer"
    if option.type is float:
        try:
            return float(value)
        except ValueError:
            return "not a number"
    return value


def _check_bool(option: Option, value: str, fail: Any) -> None:
    if option.is_flag and value not in _TRUE and value not in _FALSE:
        raise fail(f"invalid argument {_quote(value)} for {_quote(_names(option))} flag: use true or false")


def _check_count(arguments: tuple[Argument, ...], given: int, command_path: str, fail: Any) -> None:
    """docker/cli's cli/required.go: NoArgs, RequiresMinArgs, RequiresMaxArgs, ExactArgs and
    RequiresRangeArgs, by what the spec's arguments allow."""
    least = sum(1 for a in arguments if a.required)
    most = None if any(a.variadic for a in arguments) else len(arguments)
    if given >= least and (most is None or given <= most):
        return
    head = f"docker: '{command_path}'"
    if most == 0:
        raise fail(f"{head} accepts no arguments")
    if most == least:
        raise fail(f"{head} requires {least} {_plural(least)}")
    if most is None:
        raise fail(f"{head} requires at least {least} {_plural(least)}", "See")
    if least == 0:
        raise fail(f"{head} requires at most {most} {_plural(most)}")
    raise fail(f"{head} requires at least {least} and at most {most} {_plural(most)}")


def _plural(n: int) -> str:
    return "argument" if n == 1 else "arguments"


def _names(option: Option) -> str:
    """How pflag names a flag in an error: `-o, --output`, or `--port`."""
    short = next((f for f in option.flags if not f.startswith("--")), None)
    longest = max(option.flags, key=len)
    return f"{short}, {longest}" if short and short != longest else longest


def _quote(text: str) -> str:
    """Go's %q for the ASCII a command line holds."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
