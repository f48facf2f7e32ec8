"""With Docker Desktop running, secrets go to docker-credential-desktop; DOCKER_MCP_USE_CE=true, or no
Desktop answering /ping, keeps the credsStore helper. Desktop and its helper are stand-ins here (there
is no Desktop on Linux CI); the CE path runs the real docker-credential-pass."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.servers.desktop_standin import DesktopBackend

BIN = Path(__file__).resolve().parent.parent / "servers" / "bin"
PLANTED = "PLANTED-desktop-secret-5150"


@pytest.fixture
def desktop_user(plugin, pass_env, tmp_path):
    with open(os.path.join(plugin.config_dir, "config.json"), "w") as f:
        json.dump({"credsStore": "pass"}, f)
    plugin.env.update(pass_env)
    plugin.env["PATH"] = f"{BIN}:{plugin.env['PATH']}"
    plugin.env["DESKTOP_CREDENTIALS_FILE"] = str(tmp_path / "desktop-credentials.json")
    return plugin


def desktop_entries(plugin) -> dict:
    path = Path(plugin.env["DESKTOP_CREDENTIALS_FILE"])
    return json.loads(path.read_text()) if path.exists() else {}


def test_desktop_running_means_the_desktop_helper(desktop_user):
    with DesktopBackend(desktop_user.home) as backend:
        r = desktop_user.docker("mcp", "secret", "set", "x.token", input=PLANTED)
        assert r.returncode == 0, r.stderr
        assert ("GET", "/ping") in backend.calls
        assert desktop_entries(desktop_user)["https://x.token.mcp-secret"] == {
            "Username": "mcp_secret",
            "Secret": PLANTED,
        }
        listed = json.loads(desktop_user.docker("mcp", "secret", "ls", "--json").stdout)
        assert listed == [{"name": "x.token", "provider": "docker-credential-desktop"}]
        # DOCKER_MCP_USE_CE=true: the credsStore helper (pass) even with Desktop running
        ce = desktop_user.docker("mcp", "secret", "ls", "--json", env={"DOCKER_MCP_USE_CE": "true"})
        assert json.loads(ce.stdout) == []
        assert PLANTED not in r.stdout + r.stderr


def test_no_desktop_answering_means_the_credsstore_helper(desktop_user):
    r = desktop_user.docker("mcp", "secret", "set", "y.token", input=PLANTED)
    assert r.returncode == 0, r.stderr
    assert desktop_entries(desktop_user) == {}
    listed = json.loads(desktop_user.docker("mcp", "secret", "ls", "--json").stdout)
    assert listed == [{"name": "y.token", "provider": "docker-credential-pass"}]
