from __future__ import annotations

import pytest

from docker_mcp.argv import normalise
from docker_mcp.errors import UsageError

PLUGIN = {"DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND": "/usr/local/bin/docker"}


def test_plugin_mode_strips_mcp_and_keeps_the_rest():
    opts, args = normalise(["docker-mcp", "mcp", "feature", "ls"], PLUGIN)
    assert opts.plugin_mode
    assert args == ["feature", "ls"]


def test_standalone_mode_treats_args_as_mcp_args():
    opts, args = normalise(["docker-mcp", "version", "--format", "json"], {})
    assert not opts.plugin_mode
    assert args == ["version", "--format", "json"]


def test_docker_global_flags_before_mcp_are_accepted():
    argv = [
        "docker-mcp",
        "--config",
        "/c",
        "-c",
        "ctx",
        "-H",
        "unix:///a",
        "--host=tcp://b:1",
        "-D",
        "-l",
        "warn",
        "--tls",
        "--tlsverify=false",
        "--tlscacert",
        "/ca",
        "--tlscert=/cert",
        "--tlskey",
        "/key",
        "mcp",
        "version",
    ]
    opts, args = normalise(argv, PLUGIN)
    assert args == ["version"]
    assert opts.config == "/c" and opts.context == "ctx"
    assert opts.hosts == ["unix:///a", "tcp://b:1"]
    assert opts.debug and opts.tls and not opts.tlsverify
    assert (opts.log_level, opts.tlscacert, opts.tlscert, opts.tlskey) == ("warn", "/ca", "/cert", "/key")


def test_attached_short_values_and_equals_forms():
    opts, args = normalise(["docker-mcp", "-Hunix:///x", "-c=other", "--config=/d", "mcp", "ls"], PLUGIN)
    assert opts.hosts == ["unix:///x"] and opts.context == "other" and opts.config == "/d"
    assert args == ["ls"]


def test_global_flags_right_after_mcp_are_accepted_too():
    opts, args = normalise(["docker-mcp", "mcp", "--debug", "--config", "/x", "feature", "ls"], PLUGIN)
    assert opts.debug and opts.config == "/x"
    assert args == ["feature", "ls"]


def test_command_flags_are_left_for_the_command():
    _, args = normalise(["docker-mcp", "mcp", "version", "--config", "x"], PLUGIN)
    assert args == ["version", "--config", "x"]


def test_help_and_version_flags_are_not_global():
    _, args = normalise(["docker-mcp", "mcp", "-v"], PLUGIN)
    assert args == ["-v"]
    _, args = normalise(["docker-mcp", "--help"], {})
    assert args == ["--help"]


def test_missing_flag_value_is_a_usage_error():
    with pytest.raises(UsageError, match="flag needs an argument: --config") as e:
        normalise(["docker-mcp", "--config"], {})
    assert e.value.exit_code == 125


def test_bad_boolean_value_is_a_usage_error():
    with pytest.raises(UsageError, match="--tls"):
        normalise(["docker-mcp", "--tls=maybe", "mcp"], PLUGIN)


@pytest.mark.parametrize("value,expected", [("1", True), ("true", True), ("", False), ("0", False)])
def test_debug_environment_variable(value, expected):
    opts, _ = normalise(["docker-mcp", "version"], {"DOCKER_MCP_DEBUG": value})
    assert opts.debug is expected
