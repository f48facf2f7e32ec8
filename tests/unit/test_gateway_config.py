"""The gateway's configuration files: later files win key by key, paths resolve as the Go gateway's do
(absolute, ./-relative to the working directory, else under ~/.docker/mcp), and the watch list."""

from __future__ import annotations

import os

from docker_mcp.catalog.store import McpDir
from docker_mcp.gateway.config import ConfigFiles, load_config


def test_config_and_tools_files_merge_later_ones_winning(tmp_path, monkeypatch):
    mcp = McpDir(str(tmp_path / "mcp"))
    os.makedirs(mcp.root)
    (tmp_path / "mcp" / "config.yaml").write_text("time: {zone: UTC}\nfs: {paths: [/a]}\n")
    (tmp_path / "override.yaml").write_text("time: {zone: Europe/Paris}\n")
    (tmp_path / "mcp" / "tools.yaml").write_text("time: [get_current_time]\n")
    (tmp_path / "mcp" / "team-tools.yaml").write_text("fs: [read_file]\n")
    monkeypatch.chdir(tmp_path)
    files = ConfigFiles(configs=("config.yaml", "./override.yaml"), tools=("tools.yaml", "team-tools.yaml"))
    config = load_config(mcp, files=files)
    assert config.settings == {"time": {"zone": "Europe/Paris"}, "fs": {"paths": ["/a"]}}
    assert config.allowed_tools == {"time": ["get_current_time"], "fs": ["read_file"]}
    assert not config.tool_enabled("time", "convert_time") and config.tool_enabled("other", "anything")


def test_the_watched_files_are_the_registries_unless_servers_are_named_then_configs_and_tools(tmp_path):
    mcp = McpDir(str(tmp_path / "mcp"))
    files = ConfigFiles(registries=("registry.yaml", "/etc/team-registry.yaml"))
    root = str(tmp_path / "mcp")
    assert files.watched(mcp, servers_given=False) == [
        f"{root}/registry.yaml", "/etc/team-registry.yaml", f"{root}/config.yaml", f"{root}/tools.yaml"
    ]  # fmt: skip
    assert files.watched(mcp, servers_given=True) == [f"{root}/config.yaml", f"{root}/tools.yaml"]
