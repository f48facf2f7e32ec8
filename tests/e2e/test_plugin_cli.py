from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT, setup_cfg_version


def test_docker_help_lists_mcp_as_a_valid_plugin(plugin):
    r = plugin.docker("--help")
    assert r.returncode == 0
    line = next(x for x in r.stdout.splitlines() if x.strip().startswith("mcp"))
    assert "Docker MCP Plugin" in line
    assert "invalid plugin" not in r.stdout + r.stderr


def test_docker_mcp_version_prints_the_setup_cfg_version(plugin):
    r = plugin.docker("mcp", "version")
    assert (r.returncode, r.stdout, r.stderr) == (0, setup_cfg_version() + "\n", "")
    r = plugin.docker("mcp", "version", "--format", "json")
    assert json.loads(r.stdout) == {"version": setup_cfg_version()}


def test_zipapp_metadata_is_the_packages_rendering(plugin):
    from docker_mcp.metadata import render_plugin_metadata

    zipapp = os.path.join(plugin.config_dir, "cli-plugins", "docker-mcp")
    r = subprocess.run([zipapp, "docker-cli-plugin-metadata"], capture_output=True, text=True, env=plugin.env)
    assert r.returncode == 0
    assert r.stdout == render_plugin_metadata()
    assert json.loads(r.stdout)["Version"] == plugin.docker("mcp", "version").stdout.strip()


def test_zipapp_metadata_path_imports_nothing_but_the_standard_library(plugin):
    import sys

    zipapp = os.path.join(plugin.config_dir, "cli-plugins", "docker-mcp")
    r = subprocess.run(
        [sys.executable, "-X", "importtime", zipapp, "docker-cli-plugin-metadata"],
        capture_output=True,
        text=True,
        env=plugin.env,
    )
    imported = {line.split("|")[-1].strip().split(".")[0] for line in r.stderr.splitlines() if "|" in line}
    baseline = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "pass"], capture_output=True, text=True, env=plugin.env
    )
    imported -= {line.split("|")[-1].strip().split(".")[0] for line in baseline.stderr.splitlines() if "|" in line}
    assert not {m for m in imported if m not in sys.stdlib_module_names}, imported
    assert "click" not in imported and "_bootstrap" not in imported


def test_docker_mcp_help_lists_the_groups(plugin):
    r = plugin.docker("mcp", "--help")
    assert r.returncode == 0
    assert "\nCommands:\n" in r.stdout
    for group in ("feature", "version"):
        assert f"  {group} " in r.stdout


def test_docker_mcp_on_a_fresh_home_prints_help(plugin):
    r = plugin.docker("mcp")
    assert r.returncode == 0 and r.stdout.startswith("Usage:  docker mcp [OPTIONS] COMMAND\n") and r.stderr == ""
    assert not os.path.exists(os.path.join(plugin.home, ".docker", "mcp"))


def test_fresh_user_with_default_shiv_root_and_no_docker_config(plugin, tmp_path):
    # A new user: plugin in ~/.docker/cli-plugins, no DOCKER_CONFIG, shiv unpacks under ~/.shiv.
    env = {k: v for k, v in plugin.env.items() if k not in ("DOCKER_CONFIG", "SHIV_ROOT")}
    r = subprocess.run(["docker", "mcp", "version"], env=env, capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (0, setup_cfg_version() + "\n"), r.stderr
    assert os.path.isdir(os.path.join(plugin.home, ".shiv"))


def test_config_flag_selects_where_feature_enable_writes(plugin, tmp_path):
    other = tmp_path / "other-config"
    (other / "cli-plugins").mkdir(parents=True)
    shutil.copy2(os.path.join(plugin.config_dir, "cli-plugins", "docker-mcp"), other / "cli-plugins")
    (other / "config.json").write_text(json.dumps({"auths": {}, "currentContext": "default", "x": 1}))
    r = plugin.docker("--config", str(other), "mcp", "feature", "enable", "tool-name-prefix")
    assert r.returncode == 0, r.stderr
    assert "Feature 'tool-name-prefix' enabled successfully." in r.stdout
    data = json.loads((other / "config.json").read_text())
    assert data == {"auths": {}, "currentContext": "default", "x": 1, "features": {"tool-name-prefix": "enabled"}}
    assert not os.path.exists(os.path.join(plugin.config_dir, "config.json"))
    r = plugin.docker("--config", str(other), "mcp", "feature", "ls")
    assert any(line.split()[:2] == ["tool-name-prefix", "true"] for line in r.stdout.splitlines()), r.stdout


def test_bad_flag_exits_125(plugin):
    r = plugin.docker("mcp", "version", "--bogus")
    assert r.returncode == 125
    assert "--bogus" in r.stderr and "Traceback" not in r.stderr
    r = plugin.docker("mcp", "nonsense")
    assert r.returncode == 125 and r.stderr.startswith("docker: unknown command: docker mcp nonsense\n")


def test_errors_exit_1_with_one_line_and_debug_adds_the_traceback(plugin):
    r = plugin.docker("mcp", "feature", "enable", "nope")
    assert r.returncode == 1
    assert r.stderr == "feature \"nope\" not found: run 'docker mcp feature ls' to list them\n"
    r = plugin.docker("--debug", "mcp", "feature", "enable", "nope")
    assert r.returncode == 1 and "Traceback" in r.stderr
    r = plugin.docker("mcp", "feature", "enable", "nope", env={"DOCKER_MCP_DEBUG": "1"})
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_malformed_config_json_is_reported_and_left_alone(plugin):
    path = os.path.join(plugin.config_dir, "config.json")
    with open(path, "w") as f:
        f.write('{"features": {')
    r = plugin.docker("mcp", "feature", "disable", "mcp-oauth-dcr")
    assert r.returncode == 1
    # The docker CLI itself warns about the file first; our one line is the last.
    ours = [line for line in r.stderr.splitlines() if not line.startswith("WARNING: Error parsing config file")]
    assert len(ours) == 1 and ours[0].startswith(path + ":1:")
    with open(path) as f:
        assert f.read() == '{"features": {'


def test_standalone_invocation_behaves_as_docker_mcp(plugin):
    zipapp = os.path.join(plugin.config_dir, "cli-plugins", "docker-mcp")
    r = subprocess.run([zipapp, "version"], capture_output=True, text=True, env=plugin.env)
    assert (r.returncode, r.stdout) == (0, setup_cfg_version() + "\n")
    r = subprocess.run(
        [zipapp, "--config", plugin.config_dir, "feature", "enable", "mcp-oauth-dcr"],
        capture_output=True,
        text=True,
        env=plugin.env,
    )
    assert r.returncode == 0, r.stderr


def test_install_script_puts_the_plugin_under_docker_config(tmp_path):
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path / "cfg")}
    subprocess.run([os.path.join(ROOT, "scripts", "install")], check=True, capture_output=True, env=env)
    installed = tmp_path / "cfg" / "cli-plugins" / "docker-mcp"
    assert os.access(installed, os.X_OK)
    with open(installed, "rb") as f:
        assert f.readline() == b"#!/usr/bin/env python3\n"


def test_help_is_answered_from_the_archive_without_unpacking_it(plugin, tmp_path):
    env = {k: v for k, v in plugin.env.items() if k != "SHIV_ROOT"}
    for args in (["mcp", "--help"], ["mcp", "catalog", "import", "--help"], ["mcp", "oauth", "-h"]):
        r = subprocess.run(["docker", *args], env=env, capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.startswith(f"Usage:  docker {' '.join(args[:-1])}"), r.stderr
    assert not os.path.exists(os.path.join(plugin.home, ".shiv"))  # shiv's bootstrap never ran


# --- help and usage errors in the docker CLI's layout and words (exit 125) ---


def test_a_commands_help_page_is_in_the_docker_clis_layout(plugin):
    r = plugin.docker("mcp", "server", "enable", "--help")
    assert (r.returncode, r.stderr) == (0, "")
    lines = r.stdout.splitlines()
    assert lines[:3] == ["Usage:  docker mcp server enable NAME [NAME...]", "", lines[2]]
    assert lines[2].startswith("Enable servers of the configured catalogs:")  # its own description
    assert "Aliases:\n  docker mcp server enable, docker mcp server add\n" in r.stdout
    assert "Toolkit's CLI" not in r.stdout
    r = plugin.docker("mcp", "oauth", "export", "--help")
    options = r.stdout.split("\nOptions:\n")[1].splitlines()
    assert options[0].startswith("  -o, --output string   The file to write")
    assert options[1].startswith("      --force           Replace the file")


def test_a_groups_help_page_is_in_the_docker_clis_layout(plugin):
    r = plugin.docker("mcp", "server", "--help")
    assert r.returncode == 0
    out = r.stdout
    assert out.startswith("Usage:  docker mcp server COMMAND\n\nEnable, disable and inspect the servers")
    assert "\nCommands:\n  ls          List the enabled servers\n" in out
    assert out.endswith("\n\nRun 'docker mcp server COMMAND --help' for more information on a command.\n")


def test_docker_mcp_help_is_docker_mcp_command_help(plugin):
    r = plugin.docker("mcp", "help", "server", "enable")
    assert r.returncode == 0 and r.stdout == plugin.docker("mcp", "server", "enable", "--help").stdout
    assert plugin.docker("mcp", "help").stdout == plugin.docker("mcp", "--help").stdout
    r = plugin.docker("mcp", "help", "server", "bogus")
    assert r.returncode == 125 and r.stdout == ""
    assert r.stderr == "unknown help topic: bogus\n\nRun 'docker mcp server --help' for more information\n"


@pytest.mark.parametrize(
    "args,stderr",
    [
        (
            ["server", "ls", "--bogus"],
            "unknown flag: --bogus\n\nUsage:  docker mcp server ls [OPTIONS]\n\n"
            "Run 'docker mcp server ls --help' for more information\n",
        ),
        (
            ["oauth", "export", "-x"],
            "unknown shorthand flag: 'x' in -x\n\nUsage:  docker mcp oauth export [OPTIONS] SERVER\n\n"
            "Run 'docker mcp oauth export --help' for more information\n",
        ),
        (
            ["server", "enable"],
            "docker: 'docker mcp server enable' requires at least 1 argument\n\n"
            "Usage:  docker mcp server enable NAME [NAME...]\n\n"
            "See 'docker mcp server enable --help' for more information\n",
        ),
        (
            ["server", "reset", "extra"],
            "docker: 'docker mcp server reset' accepts no arguments\n\nUsage:  docker mcp server reset\n\n"
            "Run 'docker mcp server reset --help' for more information\n",
        ),
        (
            ["catalog", "fork", "a"],
            "docker: 'docker mcp catalog fork' requires 2 arguments\n\nUsage:  docker mcp catalog fork SRC NEW\n\n"
            "Run 'docker mcp catalog fork --help' for more information\n",
        ),
        (
            ["gateway", "run", "--port", "abc"],
            'invalid argument "abc" for "--port" flag: not an integer\n\nUsage:  docker mcp gateway run [OPTIONS]\n\n'
            "Run 'docker mcp gateway run --help' for more information\n",
        ),
        (
            ["server", "inspect", "x", "--format"],
            "flag needs an argument: --format\n\nUsage:  docker mcp server inspect [OPTIONS] NAME\n\n"
            "Run 'docker mcp server inspect --help' for more information\n",
        ),
        (
            ["server", "bogus"],
            "docker: unknown command: docker mcp server bogus\n\nUsage:  docker mcp server COMMAND\n\n"
            "Run 'docker mcp server --help' for more information\n",
        ),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_usage_errors_are_the_docker_clis_words_and_exit_125(plugin, args, stderr):
    r = plugin.docker("mcp", *args)
    assert (r.returncode, r.stdout, r.stderr) == (125, "", stderr)


def test_catalog_show_takes_at_most_one_argument(plugin):
    r = plugin.docker("mcp", "catalog", "show", "a", "b")
    assert r.returncode == 125
    assert r.stderr.startswith("docker: 'docker mcp catalog show' requires at most 1 argument\n\nUsage:  ")
