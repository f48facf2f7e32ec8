"""Integration: twenty `docker mcp` processes started at once over one HOME — ten `catalog import` of distinct
server files and ten `server enable` — lose no write and leave no torn or stray file under ~/.docker/mcp
(PRODUCT.md §5: writes are atomic and serialized by a lock)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from ruamel.yaml import YAML

from docker_mcp.catalog.store import McpDir
from tests.conftest import ROOT

COUNT = 10
EXPECTED_FILES = {
    "catalog.json",
    "registry.yaml",
    *(f"catalogs/{n}.yaml" for n in ["base", *(f"s{i}" for i in range(COUNT))]),
}


def docker_mcp(home: str, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "SHIV_"))}
    env.update(HOME=home, DOCKER_CONFIG=os.path.join(home, ".docker"))
    return subprocess.Popen(
        [sys.executable, "-m", "docker_mcp", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err


def write(path: str, text: str) -> str:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_imports_and_enables_all_land_and_every_file_parses(tmp_path, round_):
    home = str(tmp_path / "home")
    os.makedirs(os.path.join(home, ".docker"))
    base = write(
        str(tmp_path / "base.yaml"),
        "name: base\nregistry:\n" + "".join(f"  e{i}:\n    type: server\n    image: mcp/e{i}\n" for i in range(COUNT)),
    )
    assert finish(docker_mcp(home, "catalog", "import", base))[0] == 0
    servers = [
        write(str(tmp_path / f"s{i}.yaml"), f"name: s{i}\ntype: server\nimage: mcp/s{i}\n") for i in range(COUNT)
    ]

    commands = [("catalog", "import", path) for path in servers] + [("server", "enable", f"e{i}") for i in range(COUNT)]
    processes = [docker_mcp(home, *command) for command in commands]  # all started before any is waited for
    results = [finish(p) for p in processes]

    failed = [(command, result) for command, result in zip(commands, results, strict=True) if result[0] != 0]
    assert not failed, failed
    mcp = McpDir.for_home(home)
    index = mcp.read_index()
    assert set(index) == {"base", *(f"s{i}" for i in range(COUNT))}
    for i in range(COUNT):
        assert index[f"s{i}"].url == servers[i]
        assert list(mcp.load_catalog(f"s{i}").servers) == [f"s{i}"]
    assert list(mcp.load_catalog("base").servers) == [f"e{i}" for i in range(COUNT)]
    parsed = {}
    for directory, _, files in os.walk(mcp.root):
        for name in files:
            path = os.path.join(directory, name)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            load = json.loads if name.endswith(".json") else YAML(typ="safe", pure=True).load
            parsed[os.path.relpath(path, mcp.root)] = load(text)
    assert set(parsed) == EXPECTED_FILES, "stray or missing files (a temp file left behind?)"
    assert set(parsed["registry.yaml"]["registry"]) == {f"e{i}" for i in range(COUNT)}
