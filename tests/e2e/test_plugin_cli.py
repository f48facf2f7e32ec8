from __future__ import annotations

import json
import os
import shutil
import subprocess

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
    assert "Available Commands:" in r.stdout
    for group in ("feature", "version"):
        assert f"  {group} " in r.stdout


def test_docker_mcp_on_a_fresh_home_prints_help(plugin):
    r = plugin.docker("mcp")
    assert r.returncode == 0 and "Usage: docker mcp" in r.stdout and r.stderr == ""
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
    assert "tool-name-prefix     enabled" in r.stdout


def test_bad_flag_exits_125(plugin):
    r = plugin.docker("mcp", "version", "--bogus")
    assert r.returncode == 125
    assert "--bogus" in r.stderr and "Traceback" not in r.stderr
    r = plugin.docker("mcp", "nonsense")
    assert r.returncode == 125 and 'unknown command "nonsense"' in r.stderr


def test_errors_exit_1_with_one_line_and_debug_adds_the_traceback(plugin):
    r = plugin.docker("mcp", "feature", "enable", "nope")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("unknown feature: nope")
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
        assert r.returncode == 0 and r.stdout.startswith("Docker MCP Toolkit's CLI"), r.stderr
    assert not os.path.exists(os.path.join(plugin.home, ".shiv"))  # shiv's bootstrap never ran
