"""Catalog names as the Go plugin gives them: its file-name mapping, catalogs found by it, and names we
create still following our own rule (issue 17, item 1)."""

from __future__ import annotations

import os

import pytest

from docker_mcp.catalog import importer
from docker_mcp.catalog.schema import CatalogError
from docker_mcp.catalog.store import IndexEntry, McpDir, sanitize
from docker_mcp.errors import DockerMcpError

# docker/mcp-gateway@2bd20fe8 cmd/docker-mcp/catalog/create.go:35-43 for `catalog create MyTeam`: catalog.json by
# config.go:45 (json.MarshalIndent, two spaces, no newline at the end), the file by catalog.go:47-52 (yq,
# whose output pkg/yq/yq.go:63 trims), at pkg/config/readwrite.go:158-159 catalogs/<sanitizeFilename>.yaml
GO_INDEX = b'{\n  "catalogs": {\n    "MyTeam": {\n      "displayName": "MyTeam"\n    }\n  }\n}'
GO_FILE = b"name: MyTeam\ndisplayName: MyTeam"


@pytest.fixture
def mcp(tmp_path) -> McpDir:
    return McpDir(str(tmp_path / "home" / ".docker" / "mcp"))


@pytest.fixture
def go_created(mcp) -> McpDir:
    os.makedirs(mcp.catalogs_dir)
    with open(mcp.index_path, "wb") as f:
        f.write(GO_INDEX)
    with open(os.path.join(mcp.catalogs_dir, "myteam.yaml"), "wb") as f:
        f.write(GO_FILE)
    return mcp


@pytest.mark.parametrize(
    "name,file_name",
    [
        ("MyTeam", "myteam"),
        # each of pkg/config/readwrite.go:177's characters, after TrimSpace and ToLower (:175-176)
        ('  Team<a>b:c"d/e\\f|g?h*i\x00J  ', "team_a_b_c_d_e_f_g_h_i_j"),
        ("../Up", ".._up"),
        # Go trims what unicode.IsSpace calls space: U+3000 and NBSP, not U+001C (Python's strip() would)
        ("\u3000Team\xa0", "team"),
        ("\x1cTeam", "\x1cteam"),
        # unicode.ToLower maps one character at a time: U+0130 is "i" (Python's lower() adds U+0307), a
        # word-final U+03A3 is U+03C3 (Python's lower() gives the final form U+03C2)
        ("\u0130STANBUL", "istanbul"),
        ("\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c3"),
        ("x" * 300, "x" * 250),
        # names we create are their own file names
        ("dev-servers.v2_x", "dev-servers.v2_x"),
    ],
)
def test_file_name_follows_the_go_plugins_sanitize_filename(name, file_name):
    assert sanitize(name) == file_name


def test_file_name_is_cut_at_250_bytes_even_inside_a_character():
    # readwrite.go:179-181 cuts the string's bytes: "é" is two bytes, the 250th is the first of one
    name = "a" + "é" * 200
    assert os.fsencode(sanitize(name)) == name.encode()[:250]


def test_go_created_catalog_is_read_and_found_by_its_file_name(go_created):
    assert go_created.read_index() == {"MyTeam": IndexEntry("MyTeam")}
    catalog = go_created.load_catalog("MyTeam")
    assert (catalog.name, catalog.display_name, catalog.servers) == ("MyTeam", "MyTeam", {})
    for spelled in ("MyTeam", "myteam", "MYTEAM", " myTeam "):
        assert go_created.find(spelled) == "MyTeam"
        assert importer.catalog_of(go_created, spelled).name == "MyTeam"
    assert go_created.find("team") is None


def test_two_catalogs_in_one_file_need_the_exact_name(go_created):
    go_created.write_index({**go_created.read_index(), "myteam": IndexEntry("mine")})
    assert go_created.find("myteam") == "myteam" and go_created.find("MyTeam") == "MyTeam"
    with pytest.raises(DockerMcpError, match=r'^catalog "MYTEAM" is ambiguous: catalogs "MyTeam", "myteam" are all'):
        go_created.find("MYTEAM")


def test_names_we_create_keep_our_rule_and_never_take_a_go_catalogs_file(go_created, tmp_path):
    with pytest.raises(CatalogError, match=r'^invalid catalog name "MyTeam": use 1 to 64 lowercase'):
        importer.create(go_created, "MyTeam")
    with pytest.raises(DockerMcpError, match=r'^catalog "myteam" already exists as "MyTeam" \(both would be stored'):
        importer.create(go_created, "myteam")
    with pytest.raises(DockerMcpError, match='already exists as "MyTeam"'):
        importer.fork(go_created, "MyTeam", "myteam")
    source = tmp_path / "team.yaml"
    source.write_text("name: MyTeam\nregistry: {}\n")
    with pytest.raises(CatalogError, match=r'team.yaml:1:7: name: invalid catalog name "MyTeam"'):
        importer.import_catalog(go_created, str(source))
    with open(go_created.catalog_path("MyTeam"), "rb") as f:
        assert f.read() == GO_FILE


def test_importing_our_spelling_replaces_the_go_entry_of_the_same_file(go_created, tmp_path):
    source = tmp_path / "team.yaml"
    source.write_text("name: myteam\nregistry:\n  notes: {type: server, image: notes:1}\n")
    assert importer.import_catalog(go_created, str(source)).replaced == ("MyTeam",)  # `catalog import` says so
    assert list(go_created.read_index()) == ["myteam"]
    assert importer.import_catalog(go_created, str(source)).replaced == ()
    assert list(go_created.load_catalog("myteam").servers) == ["notes"]


def test_go_catalog_is_added_to_forked_exported_and_removed_by_either_spelling(go_created, tmp_path):
    source = tmp_path / "servers.yaml"
    source.write_text("name: Upstream\nregistry:\n  notes: {type: server, image: notes:1}\n")
    importer.add(go_created, "myteam", "notes", str(source))
    assert list(go_created.load_catalog("MyTeam").servers) == ["notes"]
    importer.fork(go_created, "MYTEAM", "copy")
    assert list(go_created.load_catalog("copy").servers) == ["notes"]
    importer.export(go_created, "myteam", str(tmp_path / "out.yaml"))
    assert (tmp_path / "out.yaml").read_text().startswith("name: MyTeam\n")
    assert importer.remove(go_created, "myteam") == "MyTeam"
    assert list(go_created.read_index()) == ["copy"]
    assert not os.path.exists(os.path.join(go_created.catalogs_dir, "myteam.yaml"))


def test_gateway_catalog_option_finds_the_go_catalog_by_either_spelling(go_created):
    for spelled in ("MyTeam", "myteam"):  # `gateway run --catalog`
        assert importer.read_catalog(go_created, spelled).display_name == "MyTeam"
