"""Hostile or broken input around catalogs: YAML aliases that expand without bound, catalogs too large to
read back fast, a catalog.json that is not UTF-8, temp files left by killed writers, the umask, and
source URLs that carry credentials."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

from docker_mcp.catalog import importer, schema, yamldoc
from docker_mcp.catalog.schema import CatalogError, parse_catalog
from docker_mcp.catalog.store import IndexEntry, McpDir
from docker_mcp.catalog.yamldoc import DocumentError, load
from docker_mcp.errors import DockerMcpError
from docker_mcp.fileio import atomic_write
from docker_mcp.output import redact_credentials
from tests.conftest import ROOT

# The shape: six levels of ten aliases each, about a million nodes once expanded, in 376 bytes.
LAUGHS = "name: lol\ntype: server\nimage: mcp/lol\nmetadata:\n  l0: &l0 [lol]\n" + "".join(
    f"  l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 7)
)


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- (5) aliases and document size ---


def test_billion_laughs_is_refused_at_the_alias_that_crosses_the_limit_and_quickly():
    started = time.monotonic()
    with pytest.raises(DocumentError) as e:
        load(LAUGHS, "lol.yaml")
    assert time.monotonic() - started < 2
    line = next(i for i, text in enumerate(LAUGHS.splitlines(), 1) if text.startswith("  l5:"))
    assert str(e.value).startswith(f"lol.yaml:{line}:")
    assert str(e.value).endswith(
        "invalid YAML: aliases expand to more than 100000 nodes; write the values out or remove the anchors"
    )


def test_aliases_of_a_long_text_are_refused_past_the_size_a_file_may_hold():
    copies = ", ".join(["*d"] * 90)  # 90 copies of 100,000 characters: 9 MB of text from 100 kB
    text = f'name: s\ntype: server\ndescription: &d "{"x" * 100_000}"\nmetadata:\n  copies: [{copies}]\n'
    assert len(text) < 1_000_000
    with pytest.raises(DocumentError, match=r"^s\.yaml:5:\d+: invalid YAML: aliases expand to more than 8 MiB of text"):
        load(text, "s.yaml")


def test_an_alias_inside_the_value_it_names_is_refused():
    with pytest.raises(
        DocumentError, match=r"^r\.yaml:1:14: invalid YAML: an alias refers to a value that contains it"
    ):
        load("loop: &a [1, *a]\n", "r.yaml")


def test_aliases_count_as_the_nodes_they_stand_for(monkeypatch):
    text = "a: &a [x, x, x]\nb: [*a, *a, *a, *a]\n"  # 8 nodes written, 24 with the aliases written out
    monkeypatch.setattr(yamldoc, "MAX_NODES", 24)
    assert load(text, "a.yaml")["b"][3] == ["x", "x", "x"]
    monkeypatch.setattr(yamldoc, "MAX_NODES", 23)
    with pytest.raises(DocumentError, match=r"^a\.yaml:2:17: invalid YAML: aliases expand to more than 23 nodes"):
        load(text, "a.yaml")


def test_a_document_of_more_nodes_than_the_limit_is_refused_while_it_is_read(monkeypatch):
    monkeypatch.setattr(yamldoc, "MAX_NODES", 50)
    text = "name: big\nregistry:\n" + "".join(f"  s{i}: {{image: i}}\n" for i in range(20))
    with pytest.raises(DocumentError) as e:
        load(text, "big.yaml")
    assert str(e.value) == (
        "big.yaml:14:8: more than 50 values (YAML nodes), more than a catalog may hold; split it into several catalogs"
    )


def test_anchors_and_merge_keys_within_the_limits_still_load():
    text = (
        "name: team\nx-defaults: &defaults {type: server, image: mcp/base}\nregistry:\n"
        "  a: {<<: *defaults, description: first}\n  b:\n    <<: *defaults\n    image: mcp/b\n"
    )
    catalog = parse_catalog(load(text, "team.yaml"), "team.yaml")
    assert (catalog.servers["a"].image, catalog.servers["a"].description) == ("mcp/base", "first")
    assert (catalog.servers["b"].type, catalog.servers["b"].image) == ("server", "mcp/b")


def test_a_catalog_of_more_than_10000_servers_is_refused():
    document = {"name": "many", "registry": {f"s{i}": {"type": "server"} for i in range(10_001)}}
    with pytest.raises(CatalogError) as e:
        parse_catalog(document, "many.yaml")
    assert str(e.value) == (
        "many.yaml: registry: 10001 servers is more than a catalog may hold (10000); split it into several catalogs"
    )
    assert len(parse_catalog({"registry": dict(list(document["registry"].items())[:10_000])}, "m").servers) == 10_000


def test_the_server_limit_points_at_the_registry(monkeypatch):
    monkeypatch.setattr(schema, "MAX_SERVERS", 2)
    text = "name: many\nregistry:\n  a: {image: a}\n  b: {image: b}\n  c: {image: c}\n"
    with pytest.raises(
        CatalogError, match=r"^many\.yaml:3:3: registry: 3 servers is more than a catalog may hold \(2\)"
    ):
        parse_catalog(load(text, "many.yaml"), "many.yaml")


def test_adding_a_server_to_a_full_catalog_is_refused_and_changes_nothing(tmp_path, monkeypatch):
    mcp = McpDir(str(tmp_path / "mcp"))
    full = tmp_path / "full.yaml"
    full.write_text("name: full\nregistry:\n  a: {image: a}\n  b: {image: b}\n")
    importer.import_catalog(mcp, str(full))
    before = mcp.read_catalog_bytes("full")
    extra = tmp_path / "c.yaml"
    extra.write_text("name: c\ntype: server\nimage: c\n")
    monkeypatch.setattr(schema, "MAX_SERVERS", 2)
    with pytest.raises(CatalogError, match="3 servers is more than a catalog may hold"):
        importer.add(mcp, "full", "c", str(extra))
    assert mcp.read_catalog_bytes("full") == before


# --- (8) catalog.json that is not UTF-8 ---


def test_a_catalog_index_that_is_not_utf8_names_the_file_and_what_to_do(tmp_path):
    mcp = McpDir(str(tmp_path / "mcp"))
    os.makedirs(mcp.root)
    with open(mcp.index_path, "wb") as f:
        f.write(b'{"catalogs": {"t\xe9am": {}}}')
    with pytest.raises(DockerMcpError) as e:
        mcp.read_index()
    assert str(e.value) == (
        f"{mcp.index_path}: not a text file (byte 0xe9 at offset 16 is not UTF-8); "
        "the catalog index is JSON: fix or remove the file"
    )


def test_a_catalog_index_that_is_a_directory_names_the_file(tmp_path):
    mcp = McpDir(str(tmp_path / "mcp"))
    os.makedirs(mcp.index_path)
    with pytest.raises(DockerMcpError, match=r"catalog\.json: cannot read the catalog index \(Is a directory\)"):
        mcp.read_index()


# --- (9a) temp files left by writers killed mid-write ---

# Writes through atomic_write, stopping in the write window (at fsync) until a line comes on stdin.
WRITER = """
import os, sys
from docker_mcp import fileio
fsync = os.fsync
def stop_then_fsync(fd):
    print("in the write window", flush=True)
    sys.stdin.readline()
    fsync(fd)
os.fsync = stop_then_fsync
fileio.atomic_write(sys.argv[1], sys.argv[2].encode())
"""


def writer_in_the_write_window(path, data: str) -> subprocess.Popen:
    """A process writing `data` to `path` with atomic_write, stopped with its temp file written."""
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), data],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": ROOT},
    )
    watchdog = threading.Timer(20, process.kill)  # a writer that never gets there must not hang the test
    watchdog.start()
    try:
        assert process.stdout is not None and process.stdout.readline() == b"in the write window\n"
    finally:
        watchdog.cancel()
    return process


def temp_files(directory) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.endswith(".tmp"))


def test_temp_files_of_writers_killed_mid_write_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "catalog.json"
    for i in range(3):  # each writer removes what the one killed before it left
        writer = writer_in_the_write_window(target, f"writer {i} " + "x" * 100_000)
        writer.send_signal(signal.SIGKILL)
        assert writer.wait(timeout=10) == -signal.SIGKILL
        assert len(temp_files(tmp_path)) == 1
    other_target = tmp_path / ".catalog.json.bak.k2j9xq1z.tmp"  # another file's temp file: not ours to remove
    other_target.write_bytes(b"")

    atomic_write(str(target), b"{}")

    assert target.read_bytes() == b"{}"
    assert temp_files(tmp_path) == [other_target.name]


def test_the_temp_file_of_a_writer_at_work_is_left_alone(tmp_path):
    target = tmp_path / "config.yaml"
    writer = writer_in_the_write_window(target, "theirs")
    try:
        atomic_write(str(target), b"ours")
        assert target.read_bytes() == b"ours"
        assert len(temp_files(tmp_path)) == 1
        assert writer.stdin is not None
        writer.stdin.write(b"go on\n")
        writer.stdin.close()
        assert writer.wait(timeout=10) == 0
    finally:
        writer.kill()
    assert target.read_bytes() == b"theirs"
    assert temp_files(tmp_path) == []


# --- (9b) file modes ---


def test_a_new_file_honours_the_umask_and_an_existing_one_keeps_its_mode(tmp_path):
    old = os.umask(0o077)
    try:
        atomic_write(str(tmp_path / "new.yaml"), b"a: 1\n")
        atomic_write(str(tmp_path / "sub" / "new.yaml"), b"a: 1\n")
        existing = tmp_path / "existing.yaml"
        existing.write_bytes(b"")
        os.chmod(existing, 0o640)
        atomic_write(str(existing), b"a: 2\n")
    finally:
        os.umask(old)
    assert mode_of(tmp_path / "new.yaml") == 0o600
    assert mode_of(tmp_path / "sub") == 0o700
    assert mode_of(existing) == 0o640
    assert existing.read_bytes() == b"a: 2\n"


def test_a_new_file_gets_its_mode_less_the_usual_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(str(tmp_path / "a.yaml"), b"")
        atomic_write(str(tmp_path / "b.json"), b"", mode=0o660)
    finally:
        os.umask(old)
    assert (mode_of(tmp_path / "a.yaml"), mode_of(tmp_path / "b.json")) == (0o644, 0o640)


def test_catalog_json_is_private_new_or_existing(tmp_path):
    mcp = McpDir(str(tmp_path / "mcp"))
    mcp.write_index({"team": IndexEntry("Team", "https://alice:s3cret@example.com/team.yaml")})
    assert mode_of(mcp.index_path) == 0o600
    os.chmod(mcp.index_path, 0o644)  # as an earlier version wrote it
    mcp.write_index({})
    assert mode_of(mcp.index_path) == 0o600


# --- (9c) credentials in source URLs ---


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://example.com/team.yaml", "https://example.com/team.yaml"),
        ("https://alice:s3cret@example.com/team.yaml", "https://alice:***@example.com/team.yaml"),
        ("https://ghp_abc123@raw.githubusercontent.com/o/r/x.yaml", "https://***@raw.githubusercontent.com/o/r/x.yaml"),
        ("https://a:p@ss@example.com/x", "https://a:***@example.com/x"),
        (
            "https://h/x.yaml?v=2&token=abc&API_KEY=k&X-Amz-Signature=s&X-Amz-Credential=c&page=1",
            "https://h/x.yaml?v=2&token=***&API_KEY=***&X-Amz-Signature=***&X-Amz-Credential=***&page=1",
        ),
        ("https://h/cb#access_token=abc&state=1", "https://h/cb#access_token=***&state=1"),
        (
            'downloading "http://u:pw@h/x?sig=abc" (status code: 404)',
            'downloading "http://u:***@h/x?sig=abc" (status code: 404)'.replace("sig=abc", "sig=***"),
        ),
        (
            "HTTPConnectionPool(host='h', port=1): Max retries exceeded with url: /x.yaml?password=pw (Caused by X)",
            "HTTPConnectionPool(host='h', port=1): Max retries exceeded with url: /x.yaml?password=*** (Caused by X)",
        ),
    ],
)
def test_redact_credentials(text, shown):
    assert redact_credentials(text) == shown


SECRET_URL = "http://alice:s3cret@127.0.0.1:1/team.yaml?token=abc123&v=1"  # port 1: refused at once


@pytest.fixture
def no_proxy(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")


def test_update_errors_do_not_show_the_credentials_of_the_source_url(tmp_path, no_proxy):
    mcp = McpDir(str(tmp_path / "mcp"))
    mcp.write_index({"team": IndexEntry("Team", SECRET_URL)})
    updated, skipped, errors = importer.update(mcp)
    assert (updated, skipped, len(errors)) == ([], [], 1)
    assert errors[0].startswith("team: ")
    assert "s3cret" not in errors[0] and "abc123" not in errors[0], errors[0]
    assert mcp.read_index()["team"].url == SECRET_URL  # update still has what it needs


def test_import_errors_do_not_show_the_credentials_of_the_url(tmp_path, no_proxy):
    with pytest.raises(DockerMcpError) as e:
        importer.import_catalog(McpDir(str(tmp_path / "mcp")), SECRET_URL)
    assert "s3cret" not in str(e.value) and "abc123" not in str(e.value), str(e.value)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"[" * 100_000, "nested too deeply"),
        (b'{"catalogs": {"team": {"url": ["x"]}}}', "catalogs.url: must be a string"),
        (b'{"catalogs": ["team"]}', '"catalogs" must map names to objects'),
    ],
)
def test_a_catalog_index_of_the_wrong_shape_names_the_file(tmp_path, content, why):

    mcp = McpDir(str(tmp_path))
    with open(mcp.index_path, "wb") as f:
        f.write(content)
    with pytest.raises(DockerMcpError) as e:
        mcp.read_index()
    assert str(e.value).startswith(mcp.index_path + ": ") and why in str(e.value)
