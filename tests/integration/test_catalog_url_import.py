"""`catalog import URL` and `catalog update` against a real HTTP server on 127.0.0.1: what is stored, what
a failed download or an invalid new version leaves behind (nothing, and the old bytes)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from docker_mcp.catalog import importer
from docker_mcp.catalog.store import McpDir
from docker_mcp.errors import DockerMcpError
from tests.conftest import ROOT, SLACK_EXAMPLE

RFC3339_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")

TEAM_V1 = """\
# Served over HTTP: comments, key order and unknown keys survive byte for byte.
name: remote-team
displayName: Remote Team
x-maintainer: platform@example.com   # an unknown top-level key
registry:
  time:
    type: server
    image: mcp-time:test
    description: "Time zones: café ☕"
    x-internal-note: keep me   # an unknown server key
    tools:
      - name: get_current_time
  fetch:
    type: server
    image: mcp-fetch:test
    config:
      - name: fetch
        type: object
        properties: {user_agent: {type: string}}
"""

TEAM_V2 = """\
# Version 2: one more server.
name: remote-team
displayName: Remote Team (v2)
registry:
  time:
    type: server
    image: mcp-time:test
  fetch:
    type: server
    image: mcp-fetch:test
  git:
    type: server
    image: mcp-git:test
    volumes: ["{{git.repo}}:/repo"]
"""

INVALID_VERSIONS = {
    "yaml syntax": (200, b"name: remote-team\nregistry: [unclosed\n"),
    "schema": (
        200,
        b"name: remote-team\nregistry:\n  slack:\n    type: remote\n    remote: {url: https://mcp.slack.com/mcp}\n"
        b'    oauth:\n      credentials:\n        clientId: ""\n',
    ),
    "not a mapping": (200, b"- just\n- a list\n"),
    "empty": (200, b""),
    "not utf-8": (200, b"name: remote-team\ndescription: \xff\xfe\n"),
    "server error": (500, b"upstream down"),
    "gone": (404, b"not found"),
}


class CatalogSite:
    """Files served from 127.0.0.1. A path serves its responses in turn, repeating the last one; a path
    not set answers 404."""

    def __init__(self) -> None:
        self.routes: dict[str, list[tuple[int, bytes]]] = {}
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = site.next_response(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/yaml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def next_response(self, path: str) -> tuple[int, bytes]:
        with self.lock:
            self.hits[path] += 1
            responses = self.routes.get(path)
            if not responses:
                return 404, b"404 page not found\n"
            return responses.pop(0) if len(responses) > 1 else responses[0]

    def serve(self, path: str, *responses: bytes | tuple[int, bytes]) -> str:
        with self.lock:
            self.routes[path] = [r if isinstance(r, tuple) else (200, r) for r in responses]
            self.hits[path] = 0
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


@pytest.fixture(scope="module")
def served() -> Iterator[CatalogSite]:
    site = CatalogSite()
    site.thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()
    site.thread.join(timeout=10)


@pytest.fixture
def site(served: CatalogSite, monkeypatch) -> CatalogSite:
    """The module's server with no paths set, reached without any proxy from the environment."""
    with served.lock:
        served.routes.clear()
        served.hits.clear()
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    return served


@pytest.fixture
def mcp(tmp_path) -> McpDir:
    return McpDir.for_home(str(tmp_path / "home"))


def index_json(mcp: McpDir) -> dict[str, dict[str, str]]:
    with open(mcp.index_path, encoding="utf-8") as f:
        catalogs: dict[str, dict[str, str]] = json.load(f)["catalogs"]
    return catalogs


def snapshot(mcp: McpDir) -> dict[str, bytes]:
    """Every file under ~/.docker/mcp (lock files aside) and its bytes."""
    out = {}
    for directory, _, names in os.walk(mcp.root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, mcp.root)] = f.read()
    return out


def assert_recent(stamp: str) -> None:
    assert RFC3339_SECONDS.match(stamp), stamp
    assert abs(datetime.now().astimezone() - datetime.fromisoformat(stamp)) < timedelta(minutes=10)


# import


@pytest.mark.parametrize(
    "content",
    [
        TEAM_V1.encode(),
        TEAM_V1.replace("\n", "\r\n").encode(),
        b"\xef\xbb\xbf" + TEAM_V1.rstrip("\n").encode(),
    ],
    ids=["lf", "crlf", "bom-no-final-newline"],
)
def test_import_of_a_whole_catalog_from_a_url_stores_its_bytes_exactly_and_the_url(site, mcp, content):
    url = site.serve("/catalog.yaml", content)
    prepared = importer.import_catalog(mcp, url)
    assert (prepared.name, prepared.single_server) == ("remote-team", None)
    with open(mcp.catalog_path("remote-team"), "rb") as f:
        assert f.read() == content
    assert index_json(mcp) == {"remote-team": {"displayName": "Remote Team", "url": url}}
    assert sorted(mcp.load_catalog("remote-team").servers) == ["fetch", "time"]
    assert site.hits["/catalog.yaml"] == 1


def test_import_of_a_single_server_file_from_a_url_makes_a_catalog_named_after_the_server(site, mcp):
    with open(SLACK_EXAMPLE, "rb") as f:
        url = site.serve("/server.yaml", f.read())
    prepared = importer.import_catalog(mcp, url)
    assert (prepared.name, prepared.single_server) == ("slack-official", "slack-official")
    assert index_json(mcp) == {"slack-official": {"displayName": "Slack (Official MCP)", "url": url}}
    server = mcp.load_catalog("slack-official").servers["slack-official"]
    assert server.remote.url == "https://mcp.slack.com/mcp"
    assert server.oauth is not None and server.oauth.credentials is not None
    assert server.oauth.credentials.client_secret == "slack-official.client_secret"


def test_import_of_a_404_url_fails_with_the_status_and_writes_nothing(site, mcp):
    url = site.url("/missing.yaml")
    with pytest.raises(DockerMcpError) as raised:
        importer.import_catalog(mcp, url)
    assert str(raised.value) == f'downloading "{url}" (status code: 404)'
    assert not os.path.exists(mcp.root)
    assert site.hits["/missing.yaml"] == 1


def test_import_of_a_404_url_leaves_existing_catalogs_untouched(site, mcp):
    importer.import_catalog(mcp, site.serve("/catalog.yaml", TEAM_V1.encode()))
    importer.create(mcp, "local")
    before = snapshot(mcp)
    with pytest.raises(DockerMcpError, match=r"\(status code: 404\)$"):
        importer.import_catalog(mcp, site.url("/missing.yaml"))
    assert snapshot(mcp) == before


# update


def test_update_of_one_catalog_fetches_the_changed_content_and_sets_last_update(site, mcp):
    url = site.serve("/changing.yaml", TEAM_V1.encode(), TEAM_V2.encode())
    importer.import_catalog(mcp, url)
    assert "lastUpdate" not in index_json(mcp)["remote-team"]

    assert importer.update(mcp, "remote-team") == (["remote-team"], [], [])

    assert site.hits["/changing.yaml"] == 2
    with open(mcp.catalog_path("remote-team"), "rb") as f:
        assert f.read() == TEAM_V2.encode()
    entry = index_json(mcp)["remote-team"]
    assert (entry["displayName"], entry["url"]) == ("Remote Team", url)
    assert_recent(entry["lastUpdate"])
    assert sorted(mcp.load_catalog("remote-team").servers) == ["fetch", "git", "time"]


def test_update_of_an_unknown_catalog_fails_and_fetches_nothing(site, mcp):
    importer.import_catalog(mcp, site.serve("/catalog.yaml", TEAM_V1.encode()))
    with pytest.raises(DockerMcpError, match=r'^catalog "nope" not found: run \'docker mcp catalog ls\' to list them$'):
        importer.update(mcp, "nope")
    assert site.hits["/catalog.yaml"] == 1


def test_update_of_every_catalog_refreshes_those_with_a_source_and_reports_those_without(site, mcp, tmp_path):
    team_url = site.serve("/changing.yaml", TEAM_V1.encode(), TEAM_V2.encode())
    with open(SLACK_EXAMPLE, encoding="utf-8") as f:
        slack = f.read()
    slack_url = site.serve(
        "/server.yaml", slack.encode(), slack.replace("Official Slack MCP server", "Slack, refreshed").encode()
    )
    local_file = tmp_path / "local-file.yaml"
    local_file.write_text("name: from-file\nregistry: {}\n")
    importer.import_catalog(mcp, team_url)
    importer.import_catalog(mcp, slack_url)
    importer.import_catalog(mcp, str(local_file))
    importer.create(mcp, "handmade")
    importer.fork(mcp, "remote-team", "team-fork")
    with open(mcp.catalog_path("handmade"), "rb") as f:
        handmade = f.read()
    local_file.write_text("name: from-file\nregistry:\n  time: {type: server, image: mcp-time:test}\n")

    updated, skipped, errors = importer.update(mcp)

    assert updated == ["from-file", "remote-team", "slack-official"]
    assert (skipped, errors) == (["handmade", "team-fork"], [])
    _, _, errors = importer.update(mcp, "handmade")  # named: made here, it cannot be updated
    assert errors == [
        'handmade: catalog "handmade" has no source to update from (it was created or forked, not imported)'
    ]
    index = index_json(mcp)
    assert index["handmade"] == {"displayName": "handmade"}
    assert index["team-fork"] == {"displayName": "team-fork (forked from remote-team)"}
    for name in updated:
        assert_recent(index[name]["lastUpdate"])
    assert (index["remote-team"]["url"], index["slack-official"]["url"]) == (team_url, slack_url)
    assert index["from-file"]["url"] == str(local_file)
    with open(mcp.catalog_path("handmade"), "rb") as f:
        assert f.read() == handmade
    with open(mcp.catalog_path("remote-team"), "rb") as f:
        assert f.read() == TEAM_V2.encode()
    assert mcp.load_catalog("slack-official").servers["slack-official"].description == "Slack, refreshed"
    assert list(mcp.load_catalog("from-file").servers) == ["time"]


@pytest.mark.parametrize("bad", INVALID_VERSIONS.values(), ids=INVALID_VERSIONS.keys())
def test_update_to_an_invalid_version_keeps_the_old_file_byte_for_byte(site, mcp, bad):
    url = site.serve("/changing.yaml", TEAM_V1.encode(), bad)
    importer.import_catalog(mcp, url)
    before = snapshot(mcp)

    updated, _, errors = importer.update(mcp, "remote-team")

    assert (updated, len(errors)) == ([], 1)
    assert errors[0].startswith("remote-team: "), errors
    if bad[0] != 200:
        assert errors[0] == f'remote-team: downloading "{url}" (status code: {bad[0]})'
    assert snapshot(mcp) == before
    assert site.hits["/changing.yaml"] == 2


def test_update_with_one_invalid_catalog_still_updates_the_others(site, mcp):
    importer.import_catalog(mcp, site.serve("/changing.yaml", TEAM_V1.encode(), TEAM_V2.encode()))
    with open(SLACK_EXAMPLE, "rb") as f:
        importer.import_catalog(mcp, site.serve("/server.yaml", f.read(), b"name: [broken\n"))
    with open(mcp.catalog_path("slack-official"), "rb") as f:
        slack_before = f.read()

    updated, _, errors = importer.update(mcp)

    assert updated == ["remote-team"]
    assert len(errors) == 1 and errors[0].startswith("slack-official: "), errors
    with open(mcp.catalog_path("slack-official"), "rb") as f:
        assert f.read() == slack_before
    assert "lastUpdate" not in index_json(mcp)["slack-official"]


# the same through the command line


def docker_mcp(home: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update(HOME=home, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    return subprocess.run(
        [sys.executable, "-m", "docker_mcp", *args],
        cwd=ROOT,
        env=env,
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_import_from_a_url_then_update(site, tmp_path):
    home = str(tmp_path / "home")
    mcp = McpDir.for_home(home)
    url = site.serve("/changing.yaml", TEAM_V1.encode(), TEAM_V2.encode())

    r = docker_mcp(home, "catalog", "import", url)
    assert (r.returncode, r.stdout, r.stderr) == (0, 'Imported catalog "remote-team"\n', "")
    with open(mcp.catalog_path("remote-team"), "rb") as f:
        assert f.read() == TEAM_V1.encode()
    r = docker_mcp(home, "catalog", "ls", "--format", "json")
    assert json.loads(r.stdout) == {"catalogs": {"remote-team": {"displayName": "Remote Team", "url": url}}}

    assert docker_mcp(home, "catalog", "create", "handmade").returncode == 0
    r = docker_mcp(home, "catalog", "update")
    assert (r.returncode, r.stdout) == (0, "updated: remote-team\n")
    assert r.stderr == "skipped: handmade (created or forked, not imported: no source to update from)\n"
    with open(mcp.catalog_path("remote-team"), "rb") as f:
        assert f.read() == TEAM_V2.encode()
    assert_recent(index_json(mcp)["remote-team"]["lastUpdate"])

    r = docker_mcp(home, "catalog", "update", "remote-team")
    assert (r.returncode, r.stdout, r.stderr) == (0, "updated: remote-team\n", "")


def test_cli_import_of_a_404_url_prints_the_status_and_writes_nothing(site, tmp_path):
    home = str(tmp_path / "home")
    url = site.url("/missing.yaml")
    r = docker_mcp(home, "catalog", "import", url)
    assert (r.returncode, r.stdout, r.stderr) == (1, "", f'downloading "{url}" (status code: 404)\n')
    assert not os.path.exists(os.path.join(home, ".docker"))


def test_cli_import_of_a_single_server_url(site, tmp_path):
    home = str(tmp_path / "home")
    shutil.copyfile(SLACK_EXAMPLE, tmp_path / "slack.yaml")
    url = site.serve("/server.yaml", (tmp_path / "slack.yaml").read_bytes())
    r = docker_mcp(home, "catalog", "import", url)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == 'Imported server "slack-official" into catalog "slack-official"\n'
    r = docker_mcp(home, "catalog", "show", "slack-official", "--format", "json")
    assert list(json.loads(r.stdout)["registry"]) == ["slack-official"]
