"""Server names are part of the credential-store keys of their OAuth client and token
(`<authorizationEndpoint>/<name>`, user `oauth2_<name>`, `https://<name>.mcp-dcr`): a name with "/"
(or ":" or "@") could make one server's keys another's, so import refuses it with file:line:col."""

from __future__ import annotations

import pytest

from docker_mcp.catalog import importer
from docker_mcp.catalog.schema import CatalogError, parse_document
from docker_mcp.catalog.store import McpDir
from docker_mcp.catalog.yamldoc import load

RULE = 'is not a valid server name: use letters, digits, ".", "_" or "-", starting with a letter or digit'


def catalog_with(name: str) -> str:
    return f'name: team\nregistry:\n  time:\n    type: server\n    image: mcp/time\n  "{name}":\n    type: server\n'


def parse(text: str, source: str = "team.yaml"):
    return parse_document(load(text, source), source)


@pytest.mark.parametrize("name", ["authorize/pre", "a:b", "evil@victim", "pre\\n", "../pre", "pre/"])
def test_a_server_name_that_would_make_its_credential_keys_ambiguous_is_refused_with_its_place(name):
    with pytest.raises(CatalogError) as e:
        parse(catalog_with(name))
    # a line break in the name is shown as \n: the error stays one line
    assert str(e.value) == f"team.yaml:6:3: registry.{name}: {RULE}"


def test_a_single_server_file_named_with_a_slash_is_refused():
    with pytest.raises(CatalogError) as e:
        parse("name: authorize/pre\ntype: remote\nremote:\n  url: https://mcp.example.com/mcp\n", "pre.yaml")
    assert str(e.value) == f'pre.yaml:1:7: name: "authorize/pre" {RULE}'


@pytest.mark.parametrize("name", ["github-official", "slack-official", "fetch", "aws.kb_retrieval-2", "Notes"])
def test_the_names_docker_catalogs_use_are_valid(name):
    assert name in parse(catalog_with(name)).servers


def test_a_stored_catalog_with_such_a_name_fails_to_read_with_the_same_error(tmp_path):
    mcp = McpDir(str(tmp_path / "mcp"))
    good = tmp_path / "team.yaml"
    good.write_text(catalog_with("pre"))
    importer.import_catalog(mcp, str(good))
    # written by an older version, or by hand
    mcp.write_catalog_bytes("team", catalog_with("authorize/pre").encode())
    with pytest.raises(CatalogError) as e:
        mcp.load_catalog("team")
    assert str(e.value) == f"{mcp.catalog_path('team')}:6:3: registry.authorize/pre: {RULE}"
