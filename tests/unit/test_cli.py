from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from docker_mcp.argv import GlobalOptions
from docker_mcp.cli import run
from docker_mcp.commands import ROOT
from docker_mcp.commands.parse import parse
from docker_mcp.commands.spec import Argument, Group, Option
from docker_mcp.errors import UsageError
from tests.conftest import ROOT as REPO
from tests.conftest import setup_cfg_version


@pytest.fixture
def opts(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    return GlobalOptions(config=str(tmp_path / "docker-config"))


def test_no_arguments_prints_the_root_help(opts, capsys):
    assert run(opts, []) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage:  docker mcp [OPTIONS] COMMAND\n\nDocker MCP Toolkit's CLI")
    assert "\n  feature     Manage experimental features\n" in out and "\n  version " in out


def test_version_flag_and_command(opts, capsys):
    assert run(opts, ["-v"]) == 0
    assert run(opts, ["version"]) == 0
    assert run(opts, ["version", "--format", "json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [setup_cfg_version()] * 2
    assert json.loads("\n".join(lines[2:])) == {"version": setup_cfg_version()}


@pytest.mark.parametrize(
    "args,first_line,usage,hint",
    [
        (["bogus"], "docker: unknown command: docker mcp bogus", "docker mcp [OPTIONS] COMMAND", "Run 'docker mcp"),
        (["feature", "bogus"], "docker: unknown command: docker mcp feature bogus", "docker mcp feature COMMAND", None),
        (["--bogus"], "unknown flag: --bogus", "docker mcp [OPTIONS] COMMAND", "Run 'docker mcp"),
        (["-x"], "unknown shorthand flag: 'x' in -x", "docker mcp [OPTIONS] COMMAND", None),
        (["server", "ls", "--bogus"], "unknown flag: --bogus", "docker mcp server ls [OPTIONS]", None),
        (["oauth", "export", "s", "-o"], "flag needs an argument: 'o' in -o", None, None),
        (["server", "ls", "--format"], "flag needs an argument: --format", None, None),
        (
            ["server", "reset", "x"],
            "docker: 'docker mcp server reset' accepts no arguments",
            "docker mcp server reset",
            None,
        ),
        (
            ["server", "enable"],
            "docker: 'docker mcp server enable' requires at least 1 argument",
            "docker mcp server enable NAME [NAME...]",
            "See 'docker mcp server enable --help' for more information",
        ),
        (["catalog", "show", "a", "b"], "docker: 'docker mcp catalog show' requires at most 1 argument", None, None),
        (["catalog", "fork", "a"], "docker: 'docker mcp catalog fork' requires 2 arguments", None, None),
        (["feature", "enable"], "docker: 'docker mcp feature enable' requires 1 argument", None, None),
        (["gateway", "run", "--port", "abc"], 'invalid argument "abc" for "--port" flag: not an integer', None, None),
        (
            ["gateway", "run", "--watch=maybe"],
            'invalid argument "maybe" for "--watch" flag: use true or false',
            None,
            None,
        ),
        (["help", "bogus"], "unknown help topic: bogus", None, "Run 'docker mcp --help' for more information"),
        (["help", "server", "bogus"], "unknown help topic: bogus", None, "Run 'docker mcp server --help'"),
    ],
)
def test_usage_errors_exit_125_in_the_docker_clis_words(opts, capsys, args, first_line, usage, hint):
    assert run(opts, args) == 125
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0] == first_line and captured.out == ""
    if usage:
        assert lines[1:3] == ["", f"Usage:  {usage}"]
    assert lines[-2] == "" and lines[-1].endswith("--help' for more information")
    assert lines[-1].startswith(hint or "Run '")


def test_an_error_exits_1_with_one_line_on_stderr(opts, capsys):
    assert run(opts, ["feature", "enable", "bogus"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith('feature "bogus" not found')


def test_debug_adds_the_traceback(opts, capsys):
    opts.debug = True
    assert run(opts, ["feature", "enable", "bogus"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.rstrip().endswith("run 'docker mcp feature ls' to list them")


def test_an_unexpected_exception_is_one_line_without_debug(opts, capsys, monkeypatch):
    from docker_mcp import features

    def boom(*a, **k):
        raise ValueError("kaput")

    monkeypatch.setattr(features, "list_features", boom)
    assert run(opts, ["feature", "ls"]) == 1
    err = capsys.readouterr().err
    assert err == "unexpected error: ValueError: kaput (run with --debug for details)\n"


@pytest.mark.parametrize(
    "args,asks",
    [
        (["server", "ls", "--json"], True),
        (["tools", "ls", "--format", "json"], True),
        (["version", "--format=json"], True),
        (["catalog", "show", "x", "--format", "yaml"], False),
        (["tools", "call", "echo", "text=--json"], False),
        (["tools", "call", "echo", "--", "--json"], False),
        (["server", "ls", "--format"], False),
        (["server", "inspect", "x", "--format", "json"], True),
        (["version", "--json"], False),  # version has no --json: an ordinary usage error
        (["server", "enable", "x", "--json"], False),
        (["catalog", "nosuch", "--format", "json"], True),  # no command: JSON as asked (json-contract.md)
    ],
)
def test_which_command_lines_ask_for_json(args, asks):
    from docker_mcp.cli import asks_for_json

    assert asks_for_json(args) is asks


def test_an_error_in_json_mode_is_one_json_line_on_stderr(opts, capsys):
    assert run(opts, ["server", "inspect", "nosuch", "--format", "json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert json.loads(captured.err)["error"].startswith('server "nosuch" not found in any configured catalog')


def test_a_usage_error_in_json_mode_is_one_json_line_without_the_help_hint(opts, capsys):
    assert run(opts, ["version", "--format", "json", "--bogus"]) == 125
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert json.loads(err)["error"] == "unknown flag: --bogus\n\nUsage:  docker mcp version [OPTIONS]"


def test_an_unexpected_exception_in_json_mode_is_one_json_line(opts, capsys, monkeypatch):
    from docker_mcp import features

    def boom(*a, **k):
        raise ValueError("kaput")

    monkeypatch.setattr(features, "list_features", boom)
    assert run(opts, ["feature", "ls", "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().err) == {
        "error": "unexpected error: ValueError: kaput (run with --debug for details)"
    }


def test_feature_ls_json(opts, capsys):
    assert run(opts, ["feature", "enable", "tool-name-prefix"]) == 0
    capsys.readouterr()
    assert run(opts, ["feature", "list", "--format", "json"]) == 0
    listed = {f["name"]: f for f in json.loads(capsys.readouterr().out)}
    assert listed["tool-name-prefix"]["enabled"] is True and listed["tool-name-prefix"]["known"] is True
    assert listed["mcp-oauth-dcr"]["enabled"] is True


def _all_paths(group: Group, path: list[str]) -> list[list[str]]:
    paths = [path]
    for c in group.commands:
        paths += _all_paths(c, [*path, c.name]) if isinstance(c, Group) else [[*path, c.name]]
    return paths


@pytest.mark.parametrize("path", _all_paths(ROOT, []), ids=lambda p: " ".join(p) or "mcp")
def test_every_help_page_opens_with_its_usage_and_says_what_the_command_does(opts, capsys, path):
    from docker_mcp.commands.help import find

    node, _ = find(ROOT, path)
    assert run(opts, [*path, "--help"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(" ".join(["Usage:  docker mcp", *path]))
    assert lines[1] == "" and lines[2] and (node.long or node.short).startswith(lines[2])
    assert ("Docker MCP Toolkit's CLI" in lines[2]) is (path == [])  # the banner is the root's description only
    assert run(opts, ["help", *path]) == 0
    assert capsys.readouterr().out.splitlines() == lines  # docker mcp help PATH is docker mcp PATH --help


IMPORT_PROBE = """
import sys
before = set(sys.modules)  # what site and the machine's .pth files imported is not ours
sys.argv = ["docker-mcp", *{args!r}]
from docker_mcp.__main__ import main
try:
    main()
except SystemExit:
    pass
third_party = sorted(
    m for m in set(sys.modules) - before
    if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] not in ("docker_mcp", "__main__")
)
sys.stderr.write("THIRD-PARTY:" + ",".join(third_party) + "\\n")
"""


@pytest.mark.parametrize(
    "args", [["docker-cli-plugin-metadata"], ["--help"], ["feature", "--help"], ["version", "--help"], []]
)
def test_metadata_and_help_import_no_third_party_module(args):
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE.format(args=args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": REPO},
    )
    line = next(x for x in proc.stderr.splitlines() if x.startswith("THIRD-PARTY:"))
    assert line == "THIRD-PARTY:", line


@pytest.mark.parametrize("args", [["version"], ["server", "ls"]])
def test_everyday_commands_import_no_third_party_module(args, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE.format(args=args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": REPO, "HOME": str(tmp_path)},
    )
    line = next(x for x in proc.stderr.splitlines() if x.startswith("THIRD-PARTY:"))
    assert line == "THIRD-PARTY:", line


# --- the parser (docker_mcp/commands/parse.py) ---

SPEC_OPTIONS = (
    Option(("-q", "--quiet"), "Only names"),
    Option(("-a", "--all"), "All"),
    Option(("-o", "--output"), "A file", metavar="FILE"),
    Option(("--format",), "Format", metavar="FORMAT", choices=("json", "yaml")),
    Option(("--port",), "Port", metavar="PORT", type=int),
    Option(("--timeout",), "Seconds", metavar="SECONDS", type=float),
    Option(("--servers",), "Servers", metavar="NAMES", multiple=True),
    Option(("--watch",), "Watch", default=True),
)


OPTIONAL_NAME = (Argument("NAME", required=False),)


def parsed(args, arguments=OPTIONAL_NAME):
    return parse(SPEC_OPTIONS, arguments, list(args), "docker mcp x", "docker mcp x [OPTIONS] [NAME]")


def usage_error(args, arguments=OPTIONAL_NAME):
    with pytest.raises(UsageError) as e:
        parsed(args, arguments)
    assert e.value.exit_code == 125 and str(e.value).endswith("\n\nUsage:  docker mcp x [OPTIONS] [NAME]")
    return str(e.value).split("\n")[0], e.value.hint


@pytest.mark.parametrize(
    "args,expected",
    [
        ([], {}),  # nothing given: nothing passed, the handler's defaults apply
        (["n"], {"name": "n"}),
        (["-q"], {"quiet": True}),
        (["--quiet=false"], {"quiet": False}),
        (["-q=false"], {"quiet": False}),
        (["-qa"], {"quiet": True, "all": True}),
        (["-qo", "f"], {"quiet": True, "output": "f"}),
        (["-qof"], {"quiet": True, "output": "f"}),
        (["-o=f"], {"output": "f"}),
        (["--output", "f", "n"], {"output": "f", "name": "n"}),
        (["n", "--output=f"], {"output": "f", "name": "n"}),  # flags after arguments too, as cobra
        (["--output="], {"output": ""}),
        (["--output", "--quiet"], {"output": "--quiet"}),  # a value flag takes the next argument, whatever it is
        (["--port", "-1"], {"port": -1}),
        (["--port=8811"], {"port": 8811}),
        (["--timeout", "2.5"], {"timeout": 2.5}),
        (["--format", "yaml"], {"format": "yaml"}),
        (["--output", "a", "--output", "b"], {"output": "b"}),  # the last one wins
        (["--servers", "a,b", "--servers", "c"], {"servers": ("a,b", "c")}),
        (["--watch"], {"watch": True}),
        (["--watch=false"], {"watch": False}),
        (["--watch=0"], {"watch": False}),
        (["--", "--quiet"], {"name": "--quiet"}),  # -- ends the flags
        (["-"], {"name": "-"}),
    ],
)
def test_the_parser_gives_the_handler_what_was_given(args, expected):
    assert parsed(args) == expected


def test_variadic_and_optional_arguments():
    arguments = (Argument("TOOL"), Argument("ARGS", variadic=True, required=False))
    assert parsed(["t"], arguments) == {"tool": "t"}
    assert parsed(["t", "a=1", "--quiet", "b=2"], arguments) == {"tool": "t", "args": ("a=1", "b=2"), "quiet": True}
    assert parsed(["t", "--", "-x", "--y"], arguments) == {"tool": "t", "args": ("-x", "--y")}


@pytest.mark.parametrize(
    "args,message",
    [
        (["--bogus"], "unknown flag: --bogus"),
        (["--bogus=1"], "unknown flag: --bogus"),
        (["-x"], "unknown shorthand flag: 'x' in -x"),
        (["-qx"], "unknown shorthand flag: 'x' in -x"),
        (["---q"], "bad flag syntax: ---q"),
        (["--output"], "flag needs an argument: --output"),
        (["-o"], "flag needs an argument: 'o' in -o"),
        (["-qo"], "flag needs an argument: 'o' in -o"),
        (["--port", "http"], 'invalid argument "http" for "--port" flag: not an integer'),
        (["--timeout=soon"], 'invalid argument "soon" for "--timeout" flag: not a number'),
        (["--quiet=maybe"], 'invalid argument "maybe" for "-q, --quiet" flag: use true or false'),
        (["--format", "xml"], "invalid argument \"xml\" for \"--format\" flag: 'xml' is not one of 'json', 'yaml'"),
        (["a", "b"], "docker: 'docker mcp x' requires at most 1 argument"),
    ],
)
def test_the_parsers_errors_are_the_docker_clis(args, message):
    assert usage_error(args) == (message, "Run")


@pytest.mark.parametrize(
    "arguments,given,message,hint",
    [
        ((), ["a"], "docker: 'docker mcp x' accepts no arguments", "Run"),
        ((Argument("A"),), [], "docker: 'docker mcp x' requires 1 argument", "Run"),
        ((Argument("A"), Argument("B")), ["a", "b", "c"], "docker: 'docker mcp x' requires 2 arguments", "Run"),
        ((Argument("A", variadic=True),), [], "docker: 'docker mcp x' requires at least 1 argument", "See"),
        (
            (Argument("A"), Argument("B", required=False)),
            [],
            "docker: 'docker mcp x' requires at least 1 and at most 2 arguments",
            "Run",
        ),
        (
            (Argument("A", required=False), Argument("B", required=False)),
            ["a", "b", "c"],
            "docker: 'docker mcp x' requires at most 2 arguments",
            "Run",
        ),
    ],
)
def test_argument_counts_are_checked_as_docker_cli_required_go_does(arguments, given, message, hint):
    assert usage_error(given, arguments) == (message, hint)


def _all_commands(group: Group):
    for c in group.commands:
        yield from _all_commands(c) if isinstance(c, Group) else [c]


@pytest.mark.parametrize("command", list(_all_commands(ROOT)), ids=lambda c: c.name)
def test_every_spec_matches_its_handlers_parameters_and_defaults(command):
    """The parser passes what is given and leaves the rest to the handler: each option's and argument's
    name is one of the handler's parameters, and a default the help page shows is the handler's."""
    import inspect

    parameters = inspect.signature(command.run).parameters
    for option in command.options:
        assert option.dest in parameters, option.dest
        default = parameters[option.dest].default
        if option.default is True:
            assert default in (True, None)  # None: the handler decides (gateway run --watch)
        elif option.default is not None:
            assert default == option.default, option.dest
    for argument in command.args:
        assert argument.dest in parameters, argument.dest
        if not argument.required:  # left out when not given: the handler needs a default
            assert parameters[argument.dest].default is not inspect.Parameter.empty, argument.dest
