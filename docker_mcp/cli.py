"""The `mcp` root: find the command, show help, parse its arguments, and map errors to exit codes once.

Everything here works from the command specs (commands/spec.py) with the standard library only: the
walk down the command groups, help pages (commands/help.py) and the parsing of a command's flags and
arguments (commands/parse.py). A command imports what it needs when it runs.
"""

from __future__ import annotations

import sys

from .argv import GlobalOptions
from .commands import ROOT
from .commands.help import HELP, HELP_FLAGS, render, usage_line
from .commands.spec import Command, Group, Node
from .errors import DockerMcpError, UsageError


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
            sys.stderr.write(f"\n{e.hint} '{e.command_path} --help' for more information\n")
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
    """Whether the command line asks for JSON output in a way its command accepts: `--json` on a command
    with that flag, `--format json` or `--format=json` on one whose --format takes json (before `--`).
    A stray `--json` on a command without it (`docker mcp version --json`) is an ordinary usage error,
    printed as text; a line that names no command (`docker mcp catalog nosuch --json`) asks for JSON
    when it holds one of them, as a program that runs a command this plugin lacks expects
    (docs/json-contract.md, "Errors")."""
    node: Node = ROOT
    while isinstance(node, Group) and args:
        child = node.child(args[0])
        if child is None:
            break
        node, args = child, args[1:]
    flags = {flag: o for o in node.options for flag in o.flags} if isinstance(node, Command) else None
    takes_json = flags is None or (
        "--format" in flags and (not flags["--format"].choices or "json" in flags["--format"].choices)
    )
    args = _before_double_dash(args)
    return any(
        (a == "--json" and (flags is None or "--json" in flags))
        or (takes_json and (a == "--format=json" or (a == "--format" and args[i + 1 : i + 2] == ["json"])))
        for i, a in enumerate(args)
    )


def _report(opts: GlobalOptions, message: str, as_json: bool, trace: bool = True) -> None:
    """The one place errors are printed, on stderr: the message on one line, or in JSON mode the one-line
    object `{"error": message}` (docs/json-contract.md). Stdout gets nothing."""
    if opts.debug and trace:
        import traceback

        traceback.print_exc(file=sys.stderr)
    if as_json:
        import json

        message = json.dumps({"error": message})
    sys.stderr.write(message + "\n")  # run() has put TerminalSafeWriter in front of stderr


def _dispatch(opts: GlobalOptions, args: list[str]) -> int:
    if args[:1] in (["__complete"], ["__completeNoDesc"]):  # cobra's shell-completion request
        from .completion import answer

        return answer(opts, args)
    node: Node = ROOT
    path = ["mcp"]
    while isinstance(node, Group):
        if not args or args[0] in HELP_FLAGS:
            sys.stdout.write(render(node, path))
            return 0
        head = args[0]
        if head.startswith("-"):
            return _group_flag(opts, node, path, head)
        child = node.child(head) or (HELP if node is ROOT and head == HELP.name else None)
        if child is None:
            command_path = " ".join(["docker", *path])
            usage = usage_line(node, path)
            raise UsageError(f"docker: unknown command: {command_path} {head}\n\nUsage:  {usage}", command_path)
        node, path, args = child, [*path, child.name], args[1:]
    if any(a in HELP_FLAGS for a in _before_double_dash(args)):
        sys.stdout.write(render(node, path))
        return 0
    return _run_command(opts, node, path, args)


def _group_flag(opts: GlobalOptions, group: Group, path: list[str], flag: str) -> int:
    """A group's own flag before its command (`docker mcp -v`): its handler runs, and nothing else."""
    from .commands.parse import parse

    command_path = " ".join(["docker", *path])
    given = parse(group.options, (), [flag], command_path, usage_line(group, path))
    for dest, value in given.items():
        if value and dest in group.flag_handlers:
            group.flag_handlers[dest](opts)
            return 0
    sys.stdout.write(render(group, path))  # `--version=false`: nothing to do but show the group's help
    return 0


def _before_double_dash(args: list[str]) -> list[str]:
    return args[: args.index("--")] if "--" in args else args


def _run_command(opts: GlobalOptions, command: Command, path: list[str], args: list[str]) -> int:
    from .commands.parse import parse  # not on the --help path, which the zipapp compiles from source

    command_path = " ".join(["docker", *path])
    params = parse(command.options, command.args, args, command_path, usage_line(command, path))
    return int(command.run(opts, **params) or 0)
