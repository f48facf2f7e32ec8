"""The Slack walkthrough's first steps, and the catalog commands, through the real docker CLI."""

from __future__ import annotations

import json
import os
import shutil

from tests.conftest import SLACK_EXAMPLE

SLACK = SLACK_EXAMPLE


def ok(result):
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_ls_show_enable_ls_the_slack_server(plugin, tmp_path):
    copy = tmp_path / "slack-official.yaml"
    shutil.copy(SLACK, copy)

    out = ok(plugin.docker("mcp", "catalog", "import", str(copy)))
    assert out == 'Imported server "slack-official" into catalog "slack-official"\n'

    listed = ok(plugin.docker("mcp", "catalog", "ls")).splitlines()
    assert listed[0].split() == ["NAME", "DISPLAY", "NAME", "SOURCE"]
    assert listed[1].split()[:4] == ["slack-official", "Slack", "(Official", "MCP)"] and len(listed) == 2

    out = ok(plugin.docker("mcp", "catalog", "show", "slack-official"))
    assert out.splitlines()[0].split() == ["NAME", "TYPE", "DESCRIPTION"]
    assert out.splitlines()[1].split() == ["slack-official", "remote", "Official", "Slack", "MCP", "server"]

    shown = json.loads(ok(plugin.docker("mcp", "catalog", "show", "slack-official", "--format", "json")))
    entry = shown["registry"]["slack-official"]
    assert entry["oauth"]["credentials"] == {
        "clientId": "your-slack-app-client-id",
        "clientSecret": "slack-official.client_secret",
        "authorizationEndpoint": "https://slack.com/oauth/v2_user/authorize",
        "tokenEndpoint": "https://slack.com/api/oauth.v2.user.access",
    }
    assert entry["secrets"] == [{"name": "slack-official.client_secret", "env": "SLACK_CLIENT_SECRET"}]

    assert ok(plugin.docker("mcp", "server", "enable", "slack-official")) == (
        "OAuth server slack-official enabled. Run 'docker mcp oauth authorize slack-official' to authenticate\n"
    )
    out = ok(plugin.docker("mcp", "server", "ls"))
    assert out.splitlines()[0].split() == ["NAME", "CATALOG", "TYPE", "CONFIG", "DESCRIPTION"]
    assert any(line.startswith("slack-official") and "remote" in line for line in out.splitlines())
    listed = json.loads(ok(plugin.docker("mcp", "server", "ls", "--json")))
    assert listed == [
        {
            "name": "slack-official",
            "catalog": "slack-official",
            "type": "remote",
            "description": "Official Slack MCP server",
            "config": "none",
            "secrets": "required",  # its client secret: not set
            "oauth": "required",  # not authorized yet
        }
    ]
    inspected = json.loads(ok(plugin.docker("mcp", "server", "inspect", "slack-official")))
    assert inspected["enabled"] is True and inspected["server"] == entry

    with open(os.path.join(plugin.home, ".docker", "mcp", "registry.yaml")) as f:
        assert f.read() == 'registry:\n  slack-official:\n    ref: ""\n'


def test_enable_of_an_unknown_server_fails_and_writes_nothing(plugin):
    r = plugin.docker("mcp", "server", "enable", "ghost")
    assert r.returncode == 1 and r.stderr.startswith('server "ghost" not found in any configured catalog: ')
    assert not os.path.exists(os.path.join(plugin.home, ".docker", "mcp", "registry.yaml"))


def test_create_add_fork_export_rm(plugin, tmp_path):
    assert ok(plugin.docker("mcp", "catalog", "create", "dev")) == "created empty catalog dev\n"
    out = ok(plugin.docker("mcp", "catalog", "add", "dev", "slack-official", SLACK))
    assert out == f'copied server "slack-official" from catalog "{SLACK}" to "dev"\n'
    r = plugin.docker("mcp", "catalog", "add", "dev", "slack-official", SLACK)
    assert r.returncode == 1 and "use --force to overwrite" in r.stderr
    ok(plugin.docker("mcp", "catalog", "add", "--force", "dev", "slack-official", SLACK))
    ok(plugin.docker("mcp", "catalog", "fork", "dev", "dev2"))
    target = tmp_path / "exported.yaml"
    assert ok(plugin.docker("mcp", "catalog", "export", "dev2", str(target))) == (
        f"Catalog 'dev2' exported to '{target}'\n"
    )
    assert "displayName: dev2 (forked from dev)" in target.read_text()
    for reserved in (["create", "docker-mcp"], ["rm", "docker-mcp"], ["fork", "dev", "docker-mcp"]):
        r = plugin.docker("mcp", "catalog", *reserved)
        assert r.returncode == 1 and "docker-mcp" in r.stderr
    assert ok(plugin.docker("mcp", "catalog", "rm", "dev")) == 'removed catalog "dev"\n'
    listed = ok(plugin.docker("mcp", "catalog", "ls")).splitlines()
    assert len(listed) == 2 and listed[1].split()[:4] == ["dev2", "dev2", "(forked", "from"]
    assert json.loads(ok(plugin.docker("mcp", "catalog", "ls", "--format", "json"))) == {
        "catalogs": {"dev2": {"displayName": "dev2 (forked from dev)"}}
    }


def test_a_missing_docker_catalog_is_simply_absent(plugin):
    assert ok(plugin.docker("mcp", "catalog", "ls")).split() == [
        "NAME",
        "DISPLAY",
        "NAME",
        "SOURCE",
    ]  # the header alone
    r = plugin.docker("mcp", "catalog", "show")
    assert r.returncode == 1 and r.stderr == (
        "no catalog named and none is configured: import one with 'docker mcp catalog import FILE|URL'\n"
    )


def test_config_write_read_reset(plugin):
    ok(plugin.docker("mcp", "config", "write", "notes: {dir: /tmp}"))
    assert ok(plugin.docker("mcp", "config", "read")) == "notes: {dir: /tmp}\n"
    r = plugin.docker("mcp", "config", "write", "notes: [")
    assert r.returncode == 1 and r.stderr.startswith("config:") and "invalid YAML" in r.stderr
    ok(plugin.docker("mcp", "config", "reset"))
    assert ok(plugin.docker("mcp", "config", "read")) == ""


def test_catalog_help_lists_its_commands(plugin):
    out = ok(plugin.docker("mcp", "catalog", "--help"))
    for command in ("ls", "show", "import", "create", "add", "rm", "export", "fork", "update"):
        assert f"\n  {command} " in out
