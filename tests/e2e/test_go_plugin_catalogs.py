"""Catalogs Docker's Go plugin wrote, read through the real docker CLI (issue 17, item 1): `catalog create
MyTeam` there stores catalogs/myteam.yaml and a catalog.json entry "MyTeam"; here `catalog ls`, `catalog show`,
`server ls --json` and `oauth ls --json` read them, and our own `catalog create MyTeam` keeps our name rule."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.conftest import Plugin

# `catalog create MyTeam`, docker/mcp-gateway@2bd20fe8 cmd/docker-mcp/catalog/create.go:35-36: catalog.json as
# config.go:45 writes it (json.MarshalIndent with two spaces: the `displayName` of config.go:15, no newline at
# the end) through pkg/config/readwrite.go:57-58,103-112
CREATED_INDEX = b'{\n  "catalogs": {\n    "MyTeam": {\n      "displayName": "MyTeam"\n    }\n  }\n}'
# create.go:39-43: the file is yq's `.name = "MyTeam" | .displayName = "MyTeam"` on an empty document
# (catalog.go:47-52), trimmed by pkg/yq/yq.go:63 (no newline at the end), stored at readwrite.go:61-62,158-159 as
# catalogs/<sanitizeFilename(name)>.yaml: readwrite.go:174-183 lower-cases it
CREATED_FILE = b"name: MyTeam\ndisplayName: MyTeam"

# `catalog import ./team.yaml` of a file naming itself MyTeam: import.go:70-103 stores the file's bytes unchanged
# (the name is set, so setCatalogMetaData at :81 is not run) at readwrite.go:158-159's catalogs/myteam.yaml
TEAM_SOURCE = b"""\
name: MyTeam
displayName: My Team
registry:
  team-notes:
    description: Notes shared by the team
    title: Team Notes
    type: server
    image: mcp/team-notes:1.0
  team-tracker:
    description: The team's issue tracker
    title: Team Tracker
    type: remote
    remote:
      url: https://tracker.example.com/mcp
      transport_type: streamable-http
    oauth:
      providers:
        - provider: team-tracker
          secret: team-tracker.personal_access_token
          env: TRACKER_TOKEN
"""


def imported_index(source: Path) -> bytes:
    """import.go:96-100's entry {displayName, url: the absolute path} as config.go:45 writes it (field order of
    config.go:15-16; a tmp path has nothing Go's encoder escapes)."""
    return (
        b'{\n  "catalogs": {\n    "MyTeam": {\n      "displayName": "My Team",\n'
        b'      "url": "' + str(source).encode() + b'"\n    }\n  }\n}'
    )


# `server enable team-notes team-tracker`, cmd/docker-mcp/server/enable.go:50-68,114-121: yaml.v3, indent 2, an
# empty `ref` per server (pkg/config/registry.go:9-16). The Go plugin reads catalog.json's names as file names
# verbatim here (pkg/catalog/catalog.go:261-262, `MyTeam.yaml`), so it finds these servers on a case-insensitive
# file system (macOS) only.
GO_REGISTRY = b'registry:\n  team-notes:\n    ref: ""\n  team-tracker:\n    ref: ""\n'


def mcp_dir(plugin: Plugin) -> Path:
    return Path(plugin.home) / ".docker" / "mcp"


def write_go_files(plugin: Plugin, index: bytes, catalog: bytes, registry: bytes | None = None) -> None:
    mcp = mcp_dir(plugin)
    (mcp / "catalogs").mkdir(parents=True, exist_ok=True)
    (mcp / "catalog.json").write_bytes(index)
    (mcp / "catalogs" / "myteam.yaml").write_bytes(catalog)
    if registry is not None:
        (mcp / "registry.yaml").write_bytes(registry)


def ok(plugin: Plugin, *args: str) -> str:
    r = plugin.docker("mcp", *args)
    assert r.returncode == 0, f"{args}: {r.stdout}{r.stderr}"
    assert r.stderr == "", r.stderr
    return r.stdout


@pytest.fixture
def user(plugin, pass_env) -> Plugin:
    """A user whose docker CLI stores credentials with docker-credential-pass (oauth ls reads it)."""
    (Path(plugin.config_dir) / "config.json").write_text('{"credsStore": "pass"}')
    plugin.env.update(pass_env)
    return plugin


@pytest.fixture
def go_created(user) -> Plugin:
    write_go_files(user, CREATED_INDEX, CREATED_FILE)
    return user


@pytest.fixture
def go_imported(user, tmp_path) -> Plugin:
    source = tmp_path / "team.yaml"
    source.write_bytes(TEAM_SOURCE)
    write_go_files(user, imported_index(source), TEAM_SOURCE, GO_REGISTRY)
    return user


def test_a_catalog_the_go_plugin_created_is_listed_and_shown(go_created):
    rows = ok(go_created, "catalog", "ls").splitlines()
    assert [row.split() for row in rows] == [["NAME", "DISPLAY", "NAME", "SOURCE"], ["MyTeam", "MyTeam", "-"]]
    assert json.loads(ok(go_created, "catalog", "ls", "--json")) == {"catalogs": {"MyTeam": {"displayName": "MyTeam"}}}
    for spelled in ("MyTeam", "myteam"):  # as catalog.json has it, or by the Go plugin's file-name mapping
        assert ok(go_created, "catalog", "show", spelled).split() == ["NAME", "TYPE", "DESCRIPTION"]
        shown = json.loads(ok(go_created, "catalog", "show", spelled, "--format", "json"))
        assert (shown["name"], shown["displayName"]) == ("MyTeam", "MyTeam")
    assert json.loads(ok(go_created, "server", "ls", "--json")) == []
    assert json.loads(ok(go_created, "oauth", "ls", "--json")) == []


def test_the_servers_of_a_go_plugin_catalog_are_shown_listed_and_offered_oauth(go_imported, tmp_path):
    rows = [row.split() for row in ok(go_imported, "catalog", "ls").splitlines()]
    assert rows[1] == ["MyTeam", "My", "Team", str(tmp_path / "team.yaml")] and len(rows) == 2

    rows = [row.split()[:2] for row in ok(go_imported, "catalog", "show", "MyTeam").splitlines()]
    assert rows == [["NAME", "TYPE"], ["team-notes", "server"], ["team-tracker", "remote"]]
    shown = json.loads(ok(go_imported, "catalog", "show", "MyTeam", "--format", "json"))
    assert shown["displayName"] == "My Team"
    assert shown["registry"]["team-tracker"]["remote"]["url"] == "https://tracker.example.com/mcp"

    listed = {row["name"]: row for row in json.loads(ok(go_imported, "server", "ls", "--json"))}
    assert sorted(listed) == ["team-notes", "team-tracker"]
    assert listed["team-notes"]["catalog"] == listed["team-tracker"]["catalog"] == "MyTeam"
    assert listed["team-notes"]["description"] == "Notes shared by the team"

    [row] = json.loads(ok(go_imported, "oauth", "ls", "--json"))
    assert (row["app"], row["provider"], row["authorized"]) == ("team-tracker", "team-tracker", False)

    # nothing read was rewritten
    assert (mcp_dir(go_imported) / "catalogs" / "myteam.yaml").read_bytes() == TEAM_SOURCE
    assert (mcp_dir(go_imported) / "catalog.json").read_bytes() == imported_index(tmp_path / "team.yaml")


def test_our_create_keeps_our_name_rule_and_leaves_the_go_catalog_alone(go_created):
    r = go_created.docker("mcp", "catalog", "create", "MyTeam")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (
        'invalid catalog name "MyTeam": use 1 to 64 lowercase letters, digits, ".", "_" or "-", '
        "starting with a letter or digit\n"
    )
    r = go_created.docker("mcp", "catalog", "create", "myteam")  # the Go catalog's file
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr.startswith('catalog "myteam" already exists as "MyTeam" (both would be stored in ')
    assert r.stderr.count("\n") == 1
    assert (mcp_dir(go_created) / "catalog.json").read_bytes() == CREATED_INDEX
    assert (mcp_dir(go_created) / "catalogs" / "myteam.yaml").read_bytes() == CREATED_FILE
    assert os.listdir(mcp_dir(go_created) / "catalogs") == ["myteam.yaml"]


def test_the_go_catalog_is_removed_by_either_spelling(go_created):
    assert ok(go_created, "catalog", "rm", "myteam") == 'removed catalog "MyTeam"\n'
    assert json.loads((mcp_dir(go_created) / "catalog.json").read_text()) == {"catalogs": {}}
    assert not (mcp_dir(go_created) / "catalogs" / "myteam.yaml").exists()
