"""The `mcp` root: find the command, show help, parse with click, and map errors to exit codes once.

Help and the walk down the command groups use the specs only; click is imported for a leaf command's
arguments when that command actually runs.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

from .argv import GlobalOptions
from .commands import ROOT
from .commands.help import render, usage_line
from .commands.spec import Command, Group, Node
from .errors import DockerMcpError, UsageError

HELP_FLAGS = ("-h", "--help")


def run(opts: GlobalOptions, args: list[str]) -> int:
    """Run `docker mcp ARGS`; returns the process exit code. Stderr, and stdout when it is a terminal,
    pass through TerminalSafeWriter while the command runs (stdout to a pipe or file stays as is: JSON
    and the stdio gateway's messages are data)."""
    from .output import TerminalSafeWriter

    saved = sys.stdout, sys.stderr
    sys.stderr = TerminalSafeWriter(sys.stderr)
    if sys.stdout.isatty():
        sys.stdout = TerminalSafeWriter(sys.stdout)
    try:
        return _run(opts, args)
    finally:
        sys.stdout, sys.stderr = saved


def _run(opts: GlobalOptions, args: list[str]) -> int:
    as_json = asks_for_json(args)
    try:
        return _dispatch(opts, args)
    except UsageError as e:
        _report(opts, str(e), as_json)
        if not as_json:
            sys.stderr.write(f"\nRun '{e.command_path} --help' for more information.\n")
        return e.exit_code
    except DockerMcpError as e:
        _report(opts, str(e), as_json)
        return e.exit_code
    except KeyboardInterrupt:
        _report(opts, "interrupted", as_json, trace=False)
        return 130
    except Exception as e:  # an unexpected failure still gets one line; --debug adds the traceback
        _report(opts, f"unexpected error: {type(e).__name__}: {e} (run with --debug for details)", as_json)
        return 1


def asks_for_json(args: list[str]) -> bool:
    """Whether the command line asks for JSON output (`--json`, `--format json`, `--format=json`)."""
    args = _before_double_dash(args)
    return any(
        a in ("--json", "--format=json") or (a == "--format" and args[i + 1 : i + 2] == ["json"])
        for i, a in enumerate(args)
    )


def _report(opts: GlobalOptions, message: str, as_json: bool, trace: bool = True) -> None:
    """The one place errors are printed, on stderr: the message on one line, or in JSON mode the one-line
    object `{"error": message}` (docs/json-contract.md). Stdout gets nothing."""
    if opts.debug and trace:
        traceback.print_exc(file=sys.stderr)
    if as_json:
        import json

        message = json.dumps({"error": message})
    sys.stderr.write(message + "\n")  # run() has put TerminalSafeWriter in front of stderr


def _dispatch(opts: GlobalOptions, args: list[str]) -> int:
    node: Node = ROOT
    path = ["mcp"]
    while isinstance(node, Group):
        if not args or args[0] in HELP_FLAGS:
            sys.stdout.write(render(node, path))
            return 0
        head = args[0]
        if head.startswith("-"):
            return _group_flag(opts, node, path, head)
        child = node.child(head)
        if child is None:
            raise UsageError(f'unknown command "{head}" for "docker {" ".join(path)}"', "docker " + " ".join(path))
        node, path, args = child, [*path, child.name], args[1:]
    if any(a in HELP_FLAGS for a in _before_double_dash(args)):
        sys.stdout.write(render(node, path))
        return 0
    return _run_command(opts, node, path, args)


def _group_flag(opts: GlobalOptions, group: Group, path: list[str], flag: str) -> int:
    for option in group.options:
        if flag in option.flags and option.dest in group.flag_handlers:
            group.flag_handlers[option.dest](opts)
            return 0
    raise UsageError(f"unknown flag: {flag}", "docker " + " ".join(path))


def _before_double_dash(args: list[str]) -> list[str]:
    return args[: args.index("--")] if "--" in args else args


def _run_command(opts: GlobalOptions, command: Command, path: list[str], args: list[str]) -> int:
    import click

    command_path = "docker " + " ".join(path)
    params: list[click.Parameter] = [
        click.Argument([a.dest], nargs=-1 if a.variadic else 1, required=a.required) for a in command.args
    ]
    for o in command.options:
        kind: Any = click.Choice(o.choices) if o.choices else o.type
        if o.is_flag and o.default is True:
            # on unless `--flag=false`, as the Go plugin's boolean flags take it
            params.append(click.Option(list(o.flags), o.dest, is_flag=False, flag_value="true", type=click.BOOL))
        elif o.is_flag:
            params.append(click.Option(list(o.flags), o.dest, is_flag=True, default=bool(o.default)))
        else:
            params.append(click.Option(list(o.flags), o.dest, type=kind, default=o.default, multiple=o.multiple))
    leaf = click.Command(command.name, params=params, add_help_option=False)
    try:
        ctx = leaf.make_context(command_path, list(args))
    except click.UsageError as e:
        raise UsageError(_click_message(e, command, path), command_path) from None
    # An argument or option not given keeps the handler's own default.
    result = command.run(opts, **{k: v for k, v in ctx.params.items() if v is not None})
    return int(result or 0)


def _click_message(e: Any, command: Command, path: list[str]) -> str:
    message: str = e.format_message()
    return f"{message}\nUsage: {usage_line(command, path)}"
