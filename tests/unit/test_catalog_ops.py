from __future__ import annotations

import json
import shutil

import pytest

from docker_mcp.catalog import importer, registry
from docker_mcp.catalog.schema import CatalogError, Server
from docker_mcp.catalog.store import McpDir
from docker_mcp.errors import DockerMcpError
from tests.conftest import SLACK_EXAMPLE

SLACK = SLACK_EXAMPLE

TEAM = """\
# Team catalog: comments and unknown keys survive import
name: team
displayName: Team servers
x-owner: platform
registry:
  time:
    type: server
    image: mcp-time:test
    tools:
      - name: get_current_time
      - name: convert_time
  notes:
    type: server
    image: notes:1
    config:
      - name: notes
        type: object
        properties:
          dir: {type: string}
          auth:
            type: object
            properties:
              user: {type: string}
"""


@pytest.fixture
def mcp(tmp_path) -> McpDir:
    return McpDir(str(tmp_path / "home" / ".docker" / "mcp"))


@pytest.fixture
def team_file(tmp_path):
    path = tmp_path / "team.yaml"
    path.write_text(TEAM)
    return str(path)


def test_single_server_import_creates_the_catalog_named_after_the_server(mcp, tmp_path):
    copy = tmp_path / "slack-official.yaml"
    shutil.copy(SLACK, copy)
    result = importer.import_catalog(mcp, str(copy))
    assert (result.name, result.single_server) == ("slack-official", "slack-official")
    index = mcp.read_index()
    assert index["slack-official"].display_name == "Slack (Official MCP)"
    assert index["slack-official"].url == str(copy)
    assert list(mcp.load_catalog("slack-official").servers) == ["slack-official"]
    # importing again replaces the catalog with exactly that server
    importer.import_catalog(mcp, str(copy))
    assert list(mcp.read_index()) == ["slack-official"]


def test_whole_catalog_import_keeps_the_bytes(mcp, team_file):
    importer.import_catalog(mcp, team_file)
    assert mcp.read_catalog_bytes("team").decode() == TEAM
    assert sorted(mcp.load_catalog("team").servers) == ["notes", "time"]


def test_catalog_without_a_name_is_refused(mcp, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("registry:\n  a: {type: server, image: x}\n")
    with pytest.raises(CatalogError, match="the catalog has no name"):
        importer.import_catalog(mcp, str(path))
    assert not (tmp_path / "home").exists()


def test_create_checks_reserved_invalid_and_existing_names(mcp):
    importer.create(mcp, "dev")
    assert mcp.read_catalog_bytes("dev") == b"name: dev\ndisplayName: dev\n"
    with pytest.raises(DockerMcpError, match='catalog "dev" already exists'):
        importer.create(mcp, "dev")
    with pytest.raises(DockerMcpError, match="reserved for Docker's official catalog"):
        importer.create(mcp, "docker-mcp")
    with pytest.raises(DockerMcpError, match="invalid catalog name"):
        importer.create(mcp, "Has Spaces")


def test_rm_removes_entry_and_file_and_protects_docker_mcp(mcp, team_file):
    importer.import_catalog(mcp, team_file)
    importer.remove(mcp, "team")
    assert mcp.read_index() == {}
    assert mcp.read_catalog_bytes("team") == b""
    with pytest.raises(DockerMcpError, match='catalog "team" not found'):
        importer.remove(mcp, "team")
    with pytest.raises(DockerMcpError, match="managed by Docker"):
        importer.remove(mcp, "docker-mcp")


def test_export_copies_the_bytes(mcp, team_file, tmp_path):
    importer.import_catalog(mcp, team_file)
    out = tmp_path / "team.yaml"
    importer.export(mcp, "team", str(out))
    assert out.read_text() == TEAM
    with pytest.raises(DockerMcpError, match="does not exist: create it first"):
        importer.export(mcp, "team", str(tmp_path / "out" / "nested" / "team.yaml"))
    assert not (tmp_path / "out").exists()
    with pytest.raises(DockerMcpError, match='catalog "nope" not found: run '):
        importer.export(mcp, "nope", str(out))
    with pytest.raises(DockerMcpError, match="cannot export the Docker MCP catalog"):
        importer.export(mcp, "docker-mcp", str(out))


def test_fork_sets_the_new_name_and_keeps_the_rest(mcp, team_file):
    importer.import_catalog(mcp, team_file)
    importer.fork(mcp, "team", "team2")
    text = mcp.read_catalog_bytes("team2").decode()
    assert "name: team2\n" in text and "displayName: team2 (forked from team)" in text
    assert "# Team catalog" in text and "x-owner: platform" in text
    assert sorted(mcp.load_catalog("team2").servers) == ["notes", "time"]
    with pytest.raises(DockerMcpError, match='catalog "team2" already exists'):
        importer.fork(mcp, "team", "team2")
    with pytest.raises(DockerMcpError, match='catalog "nope" not found'):
        importer.fork(mcp, "nope", "x")
    with pytest.raises(DockerMcpError, match="reserved"):
        importer.fork(mcp, "team", "docker-mcp")


def test_add_copies_one_server_and_needs_force_to_overwrite(mcp, team_file):
    importer.create(mcp, "dev")
    importer.add(mcp, "dev", "time", team_file)
    assert list(mcp.load_catalog("dev").servers) == ["time"]
    with pytest.raises(DockerMcpError, match=r'already exists in catalog "dev" \(use --force to overwrite\)'):
        importer.add(mcp, "dev", "time", team_file)
    importer.add(mcp, "dev", "time", team_file, force=True)
    importer.add(mcp, "dev", "slack-official", SLACK)  # a single-server file works as a source too
    assert sorted(mcp.load_catalog("dev").servers) == ["slack-official", "time"]


@pytest.mark.parametrize(
    "catalog,server,source,fragment",
    [
        ("docker-mcp", "time", "TEAM", "managed by Docker"),
        ("dev", "time", "/nonexistent.yaml", 'catalog file "/nonexistent.yaml" not found'),
        ("dev", "nope", "TEAM", 'server "nope" not found in catalog'),
        ("nope", "time", "TEAM", 'catalog "nope" not found'),
    ],
)
def test_add_errors_change_nothing(mcp, team_file, catalog, server, source, fragment):
    importer.create(mcp, "dev")
    before = mcp.read_catalog_bytes("dev")
    with pytest.raises(DockerMcpError, match=fragment):
        importer.add(mcp, catalog, server, team_file if source == "TEAM" else source)
    assert mcp.read_catalog_bytes("dev") == before


def test_enable_needs_the_server_in_a_configured_catalog(mcp, team_file):
    importer.import_catalog(mcp, team_file)
    with pytest.raises(registry.ServerNotFoundError, match='server "ghost" not found in any configured catalog'):
        registry.enable(mcp, ["time", "ghost"])
    assert registry.enabled_names(mcp) == []
    assert [s.name for s in registry.enable(mcp, ["time"])] == ["time"]
    with open(mcp.file("registry.yaml")) as f:
        assert f.read() == 'registry:\n  time:\n    ref: ""\n'


def test_enable_reads_every_configured_catalog_and_prunes_vanished_servers(mcp, team_file):
    importer.import_catalog(mcp, team_file)
    importer.import_catalog(mcp, SLACK)
    registry.enable(mcp, ["time", "slack-official"])
    assert registry.enabled_names(mcp) == ["slack-official", "time"]
    importer.remove(mcp, "team")
    registry.enable(mcp, ["slack-official"])
    assert registry.enabled_names(mcp) == ["slack-official"]


def test_disable_ignores_unknown_names_and_reset_disables_all(mcp, team_file):
    importer.import_catalog(mcp, team_file)
    registry.enable(mcp, ["time", "notes"])
    registry.disable(mcp, ["notes", "never-enabled"])
    assert registry.enabled_names(mcp) == ["time"]
    registry.disable(mcp, ["time"])
    with open(mcp.file("registry.yaml")) as f:
        assert f.read() == "registry: {}\n"
    registry.enable(mcp, ["time"])
    registry.reset(mcp)
    assert registry.enabled_names(mcp) == []


def test_enabled_servers_reports_servers_whose_catalog_is_gone(mcp, team_file):
    importer.import_catalog(mcp, team_file)
    registry.enable(mcp, ["time"])
    importer.remove(mcp, "team")
    [entry] = registry.enabled_servers(mcp)
    assert (entry.name, entry.catalog, entry.server) == ("time", None, None)


def test_later_catalogs_win_per_server_and_docker_mcp_comes_first(mcp, tmp_path):
    for name, image in (("docker-mcp", "official"), ("aaa", "user-a"), ("zzz", "user-z")):
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"name: {name}\nregistry:\n  time:\n    type: server\n    image: {image}\n")
        importer.import_catalog(mcp, str(path))
    assert mcp.all_servers()["time"][1].image == "user-z"


@pytest.mark.parametrize(
    "values,status",
    [
        (None, "required"),
        ({"dir": "/x"}, "partial"),
        ({"dir": "/x", "auth": {"user": "u"}}, "done"),
        ({"dir": "", "auth": {"user": None}}, "required"),
    ],
)
def test_config_status_counts_every_leaf_property(mcp, team_file, values, status):
    importer.import_catalog(mcp, team_file)
    notes = mcp.load_catalog("team").servers["notes"]
    assert registry.config_status(notes, values) == status
    assert registry.config_status(Server("plain"), None) == "none"


def test_config_write_validates_and_replaces_the_file(mcp):
    registry.write_config(mcp, "notes:\n  dir: /tmp\n")
    assert registry.server_config(mcp) == {"notes": {"dir": "/tmp"}}
    with pytest.raises(DockerMcpError, match="notes: must be a mapping of settings"):
        registry.write_config(mcp, "notes: 3\n")
    with pytest.raises(DockerMcpError, match="invalid YAML"):
        registry.write_config(mcp, "notes: [\n")
    assert registry.read_config_text(mcp) == "notes:\n  dir: /tmp\n"
    registry.reset_config(mcp)
    assert registry.read_config_text(mcp) == ""


def test_tools_yaml_lists_allowed_tools(mcp):
    mcp.write_text("tools.yaml", "time:\n  - get_current_time\nnotes: []\n")
    assert registry.enabled_tools(mcp) == {"time": ["get_current_time"], "notes": []}


def test_index_is_sorted_two_space_json(mcp, team_file):
    importer.import_catalog(mcp, team_file)
    importer.create(mcp, "abc")
    with open(mcp.index_path) as f:
        text = f.read()
    assert json.loads(text) == {
        "catalogs": {"abc": {"displayName": "abc"}, "team": {"displayName": "Team servers", "url": team_file}}
    }
    assert text.startswith('{\n  "catalogs": {\n    "abc"')
