from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from docker_mcp.argv import GlobalOptions
from docker_mcp.cli import run
from docker_mcp.commands import ROOT
from docker_mcp.commands.spec import Group
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
    assert "Usage: docker mcp [OPTIONS] COMMAND" in out
    assert "feature" in out and "version" in out


def test_version_flag_and_command(opts, capsys):
    assert run(opts, ["-v"]) == 0
    assert run(opts, ["version"]) == 0
    assert run(opts, ["version", "--format", "json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [setup_cfg_version()] * 2
    assert json.loads("\n".join(lines[2:])) == {"version": setup_cfg_version()}


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["bogus"], 'unknown command "bogus" for "docker mcp"'),
        (["feature", "bogus"], 'unknown command "bogus" for "docker mcp feature"'),
        (["--bogus"], "unknown flag: --bogus"),
        (["version", "--bogus"], "--bogus"),
        (["version", "extra"], "extra"),
        (["version", "--format", "xml"], "xml"),
        (["feature", "enable"], "NAME"),
    ],
)
def test_usage_errors_exit_125_and_point_at_help(opts, capsys, args, fragment):
    assert run(opts, args) == 125
    err = capsys.readouterr().err
    assert fragment in err
    assert "--help' for more information" in err
    assert "Traceback" not in err


def test_an_error_exits_1_with_one_line_on_stderr(opts, capsys):
    assert run(opts, ["feature", "enable", "bogus"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("unknown feature: bogus")


def test_debug_adds_the_traceback(opts, capsys):
    opts.debug = True
    assert run(opts, ["feature", "enable", "bogus"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.rstrip().endswith("tool-name-prefix)")


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
    ],
)
def test_which_command_lines_ask_for_json(args, asks):
    from docker_mcp.cli import asks_for_json

    assert asks_for_json(args) is asks


def test_an_error_in_json_mode_is_one_json_line_on_stderr(opts, capsys):
    assert run(opts, ["server", "inspect", "nosuch", "--format", "json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == '{"error": "server \\"nosuch\\" not found in any configured catalog"}\n'


def test_a_usage_error_in_json_mode_is_one_json_line_without_the_help_hint(opts, capsys):
    assert run(opts, ["version", "--format", "json", "--bogus"]) == 125
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert json.loads(err)["error"].startswith("No such option")


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
def test_every_help_page_renders(opts, capsys, path):
    assert run(opts, [*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Docker MCP Toolkit's CLI")
    assert "Usage: docker mcp" in out


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


def test_running_a_command_does_import_click():
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE.format(args=["version"])],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": REPO},
    )
    # The probe sees a third-party import when there is one.
    assert "THIRD-PARTY:click" in proc.stderr
