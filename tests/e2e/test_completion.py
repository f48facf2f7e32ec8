"""Shell completion through the real docker CLI: `docker __complete mcp …` (cobra's protocol, answered by
the plugin), and bash completing `docker mcp …` with Debian's bash-completion and `docker completion bash`."""

from __future__ import annotations

import json
import os
import shlex
import subprocess

import pytest

from tests.e2e.conftest import DOCKER

BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
CATALOG = """\
name: team
displayName: Team servers
registry:
  time:
    type: server
    image: mcp-time:test
    description: Current time and time zones
  timer:
    type: server
    image: mcp-timer:test
    description: Timers
    secrets:
      - name: timer.token
        env: TIMER_TOKEN
  notes:
    type: server
    image: notes:1
    description: Notes
"""
NO_FILE_COMP = "Completion ended with directive: ShellCompDirectiveNoFileComp\n"


def complete(plugin, *words):
    """`docker __complete mcp WORDS…`: the candidates' lines and the directive line."""
    r = plugin.docker("__complete", "mcp", *words)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines(), r.stderr


@pytest.fixture
def team(plugin, tmp_path):
    path = tmp_path / "team.yaml"
    path.write_text(CATALOG)
    r = plugin.docker("mcp", "catalog", "import", str(path))
    assert r.returncode == 0, r.stderr
    return plugin


def test_an_empty_word_lists_the_groups_and_the_version_command(plugin):
    lines, err = complete(plugin, "")
    offered = [line.split("\t")[0] for line in lines if not line.startswith("help\t")]  # cobra offers help too
    assert offered == ["catalog", "config", "feature", "gateway", "oauth", "secret", "server", "tools", "version", ":4"]
    assert "server\tEnable, disable and inspect the servers of the configured catalogs" in lines
    assert err == NO_FILE_COMP


def test_a_command_prefix_completes_that_command_only(plugin):
    lines, _ = complete(plugin, "server", "e")
    assert lines == ["enable\tEnable servers of the configured catalogs", ":4"]


def test_double_dash_lists_the_commands_long_flags(plugin):
    lines, _ = complete(plugin, "server", "ls", "--")
    flags = [line.split("\t")[0] for line in lines]
    assert flags[-1] == ":4" and "--help" in flags and "--json" in flags and "--format" in flags
    assert all(f.startswith("--") for f in flags[:-1])
    assert "-q" in [line.split("\t")[0] for line in complete(plugin, "server", "ls", "-")[0]]


def test_a_flag_value_from_its_choices(plugin):
    lines, _ = complete(plugin, "gateway", "run", "--transport", "ss")
    assert lines == ["sse", ":4"]


def test_server_names_come_from_the_imported_catalog(team):
    lines, _ = complete(team, "server", "enable", "ti")
    assert lines == ["time\tCurrent time and time zones", "timer\tTimers", ":4"]
    assert team.docker("mcp", "server", "enable", "time").returncode == 0
    assert complete(team, "server", "enable", "")[0] == ["notes\tNotes", "timer\tTimers", ":4"]
    assert complete(team, "server", "disable", "")[0] == ["time\tCurrent time and time zones", ":4"]
    assert complete(team, "catalog", "show", "")[0] == ["team\tTeam servers", ":4"]
    assert complete(team, "server", "enable", "notes", "")[0] == ["timer\tTimers", ":4"]


def test_secret_names_are_completed_from_the_credential_store_never_their_values(team, pass_env):
    with open(os.path.join(team.config_dir, "config.json"), "w") as f:
        json.dump({"credsStore": "pass"}, f)
    team.env.update(pass_env)
    assert team.docker("mcp", "secret", "set", "timer.token=PLANTED-value-7731").returncode == 0
    r = team.docker("__complete", "mcp", "secret", "rm", "")
    assert r.stdout == "timer.token\n:4\n"
    assert "PLANTED" not in r.stdout + r.stderr
    assert team.docker("mcp", "server", "enable", "timer").returncode == 0
    assert complete(team, "secret", "set", "t")[0] == ["timer.token\ta secret of timer", ":6"]  # no space: =VALUE


def test_a_broken_catalog_index_gives_no_candidates_and_no_error(team):
    with open(os.path.join(team.home, ".docker", "mcp", "catalog.json"), "w") as f:
        f.write("{broken")
    lines, err = complete(team, "server", "enable", "")
    assert lines == [":4"] and err == NO_FILE_COMP


def bash_complete(plugin, cwd, line: str) -> tuple[list[str], bool]:
    """COMPREPLY after TAB at the end of `line`, in a real bash: Debian's bash-completion, then the
    docker CLI's own completion script, whose __start_docker runs `docker __complete …`. And whether
    the shell may complete file names (bash does that itself, `complete -o default`, when COMPREPLY is
    empty, unless the script turned it off: its debug log says "Activating no file completion")."""
    if not os.path.exists(BASH_COMPLETION):
        pytest.fail("bash-completion is not installed: scripts/test installs it (apt bash-completion)")
    debug = cwd / "bash-completion-debug.log"
    debug.write_text("")
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    script = f"""
source {BASH_COMPLETION}
eval "$({shlex.quote(DOCKER)} completion bash)"
COMP_WORDS=({" ".join(shlex.quote(w) for w in words)})
COMP_CWORD={len(words) - 1}
COMP_LINE={shlex.quote(line)}
COMP_POINT=${{#COMP_LINE}}
BASH_COMP_DEBUG_FILE={shlex.quote(str(debug))}
__start_docker 2>/dev/null
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    r = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        env=plugin.env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    log = debug.read_text()
    assert "__complete mcp" in log  # the script asked the plugin
    return [w.rstrip() for w in r.stdout.splitlines() if w], "Activating no file completion" not in log


def test_bash_completes_docker_mcp_ser_to_server(plugin, tmp_path):
    (tmp_path / "server-notes.txt").write_text("")  # a file the shell would have offered before
    assert bash_complete(plugin, tmp_path, "docker mcp ser") == (["server"], False)
    assert bash_complete(plugin, tmp_path, "docker mcp server ")[0] == ["ls", "enable", "disable", "inspect", "reset"]


def test_bash_completes_server_names_and_files_where_a_file_is_expected(team, tmp_path):
    assert bash_complete(team, tmp_path, "docker mcp server enable not") == (["notes"], False)
    assert bash_complete(team, tmp_path, "docker mcp catalog import ") == ([], True)
    assert bash_complete(team, tmp_path, "docker mcp catalog create ") == ([], False)
