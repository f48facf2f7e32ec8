"""E2E, through the real docker CLI: catalogs whose YAML aliases would expand without bound, a catalog.json
that is not UTF-8, the umask, and catalog source URLs that carry a password or a token."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import DOCKER, Plugin
from tests.e2e.test_catalog_invalid_input import import_and_expect_nothing_changed, snapshot
from tests.servers.hostile import HostileServer

# Six levels of ten aliases: about a million nodes once expanded, in 376 bytes. Before the limit it
# imported in 23 s, and every later `server ls` took as long.
LAUGHS = "name: lol\ntype: server\nimage: mcp/lol\nmetadata:\n  l0: &l0 [lol]\n" + "".join(
    f"  l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 7)
)
ALIAS_ERROR = "invalid YAML: aliases expand to more than 100000 nodes; write the values out or remove the anchors"
TEAM = "name: team\ndisplayName: Team\nregistry:\n  time: {type: server, image: mcp/time}\n"


def mcp_dir(user: Plugin) -> str:
    return os.path.join(user.home, ".docker", "mcp")


def mode_of(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def fails_with_one_line(r) -> str:
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    return r.stderr.rstrip("\n")


def test_import_of_a_billion_laughs_is_refused_fast_and_changes_nothing(plugin, tmp_path):
    source = tmp_path / "lol.yaml"
    source.write_text(LAUGHS)
    started = time.monotonic()
    message = import_and_expect_nothing_changed(plugin, str(source))
    assert time.monotonic() - started < 10
    assert message.startswith(f"{source}:10:") and message.endswith(ALIAS_ERROR), message


def test_a_stored_billion_laughs_fails_every_reader_fast_naming_its_file(plugin):
    # as an earlier version stored it: the source bytes, and their index entry
    os.makedirs(os.path.join(mcp_dir(plugin), "catalogs"))
    catalog = os.path.join(mcp_dir(plugin), "catalogs", "lol.yaml")
    with open(catalog, "w") as f:
        f.write("name: lol\nregistry:\n  lol:\n" + "".join(f"    {line}\n" for line in LAUGHS.splitlines()))
    with open(os.path.join(mcp_dir(plugin), "catalog.json"), "w") as f:
        json.dump({"catalogs": {"lol": {"displayName": "lol"}}}, f)
    for command in (("server", "ls"), ("catalog", "show", "lol"), ("gateway", "run", "--dry-run")):
        started = time.monotonic()
        message = fails_with_one_line(plugin.docker("mcp", *command))
        assert time.monotonic() - started < 10, command
        assert message.startswith(f"{catalog}:13:") and message.endswith(ALIAS_ERROR), message


def test_a_catalog_json_that_is_not_utf8_gives_one_line_naming_it(plugin):
    os.makedirs(mcp_dir(plugin))
    index = os.path.join(mcp_dir(plugin), "catalog.json")
    with open(index, "wb") as f:
        f.write(b'{"catalogs": {"caf\xe9": {"displayName": "x"}}}')
    for command in (("catalog", "ls"), ("server", "ls"), ("catalog", "show", "team")):
        message = fails_with_one_line(plugin.docker("mcp", *command))
        assert message == (
            f"{index}: not a text file (byte 0xe9 at offset 18 is not UTF-8); "
            "the catalog index is JSON: fix or remove the file"
        ), message


def test_files_honour_the_umask_and_catalog_json_is_private(plugin, tmp_path):
    source = tmp_path / "team.yaml"
    source.write_text(TEAM)
    umask = os.umask(0)
    os.umask(umask)
    r = plugin.docker("mcp", "catalog", "import", str(source))
    assert r.returncode == 0, r.stderr
    assert mode_of(os.path.join(mcp_dir(plugin), "catalogs", "team.yaml")) == 0o644 & ~umask
    assert mode_of(os.path.join(mcp_dir(plugin), "catalog.json")) == 0o600 & ~umask

    private_user = tmp_path / "private"
    private_user.mkdir()
    env = {**plugin.env, "HOME": str(private_user)}
    command = f"umask 077 && exec {shlex.quote(DOCKER)} mcp catalog import {shlex.quote(str(source))}"
    r = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    root = private_user / ".docker" / "mcp"
    assert {p: mode_of(str(root / p)) for p in (".", "catalogs", "catalogs/team.yaml", "catalog.json")} == {
        ".": 0o700,
        "catalogs": 0o700,
        "catalogs/team.yaml": 0o600,
        "catalog.json": 0o600,
    }


class CatalogSite(HostileServer):
    """The team catalog served from 127.0.0.1 at /team.yaml, reached with credentials in its URL."""

    def serve(self, body: bytes, status: int = 200) -> None:
        self.json("/team.yaml", body, status, {"Content-Type": "application/yaml"})

    def with_credentials(self, credentials: str, path: str) -> str:
        return self.base_url.replace("://", f"://{credentials}@") + path


@pytest.fixture
def site() -> Iterator[CatalogSite]:
    with CatalogSite() as served:
        served.serve(TEAM.encode())
        yield served


@pytest.fixture
def direct(plugin) -> Plugin:
    """The plugin user, reaching 127.0.0.1 without any proxy from the environment."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        plugin.env.pop(name, None)
    plugin.env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    return plugin


def test_a_source_url_with_credentials_is_kept_in_catalog_json_and_redacted_in_output(direct, site):
    url = site.with_credentials("alice:s3cret", "/team.yaml?token=abc123&v=1")
    shown = site.with_credentials("alice:***", "/team.yaml?token=***&v=1")
    r = direct.docker("mcp", "catalog", "import", url)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    index = os.path.join(mcp_dir(direct), "catalog.json")
    with open(index) as f:
        assert json.load(f)["catalogs"]["team"]["url"] == url  # `update` needs it
    assert mode_of(index) == 0o600

    r = direct.docker("mcp", "catalog", "ls", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["catalogs"]["team"]["url"] == shown
    r = direct.docker("mcp", "catalog", "ls", "--format", "yaml")
    assert shown in r.stdout and "s3cret" not in r.stdout and "abc123" not in r.stdout

    site.serve(b"gone\n", 404)
    before = snapshot(mcp_dir(direct))
    message = fails_with_one_line(direct.docker("mcp", "catalog", "update"))
    assert message.startswith("team: ") and "s3cret" not in message and "abc123" not in message, message
    assert snapshot(mcp_dir(direct)) == before


def test_import_errors_do_not_show_the_credentials_of_the_url(direct, site):
    site.serve(b"name: team\nregistry: [\n")
    url = site.with_credentials("alice:s3cret", "/team.yaml?api_key=abc123")
    message = fails_with_one_line(direct.docker("mcp", "catalog", "import", url))
    assert message.startswith(site.with_credentials("alice:***", "/team.yaml?api_key=***") + ":3:"), message
    site.serve(b"gone\n", 404)
    message = fails_with_one_line(direct.docker("mcp", "catalog", "import", url))
    assert "s3cret" not in message and "abc123" not in message, message
    assert not os.path.exists(mcp_dir(direct)) or snapshot(mcp_dir(direct)) == {}
