"""E2E: the built zipapp, installed by scripts/install into a temporary DOCKER_CONFIG, run through the
real docker CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"


@dataclass
class Plugin:
    config_dir: str  # DOCKER_CONFIG holding cli-plugins/docker-mcp
    home: str
    env: dict[str, str]

    def docker(self, *args: str, input: str | None = None, env: dict[str, str] | None = None):
        return subprocess.run(
            [DOCKER, *args],
            env={**self.env, **(env or {})},
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture(scope="session")
def installed_config(tmp_path_factory) -> str:
    """scripts/install (building when stale) into a throwaway DOCKER_CONFIG, once per session."""
    config = str(tmp_path_factory.mktemp("installed-docker-config"))
    subprocess.run(
        [os.path.join(ROOT, "scripts", "install")],
        check=True,
        capture_output=True,
        env={**os.environ, "DOCKER_CONFIG": config},
    )
    return config


@pytest.fixture(scope="session")
def shiv_root(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("shiv-root"))


def new_user(installed_config: str, shiv_root: str, home: Path, *, link: bool = False) -> Plugin:
    """A fresh user: new HOME and DOCKER_CONFIG (HOME/.docker) with the installed plugin in cli-plugins/,
    copied, or symlinked (`link`) where a test makes many users of the same build."""
    config = home / ".docker"
    (config / "cli-plugins").mkdir(parents=True)
    installed = os.path.join(installed_config, "cli-plugins", "docker-mcp")
    if link:
        os.symlink(installed, config / "cli-plugins" / "docker-mcp")
    else:
        shutil.copy2(installed, config / "cli-plugins")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "SHIV_"))}
    env.update(HOME=str(home), DOCKER_CONFIG=str(config), SHIV_ROOT=shiv_root)
    return Plugin(str(config), str(home), env)


@pytest.fixture
def plugin(installed_config, shiv_root, tmp_path) -> Plugin:
    return new_user(installed_config, shiv_root, tmp_path / "home")


@pytest.fixture
def gateway_user(plugin):
    """A user whose remote servers may be plain-http loopback test servers."""
    plugin.env["DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS"] = "1"
    return plugin


@pytest.fixture
def oauth_user(plugin, pass_env, tmp_path):
    """A user with docker-credential-pass as credsStore, allowed plain-http loopback OAuth servers."""
    import json

    from tests.e2e.oauth_support import OAuthUser

    with open(os.path.join(plugin.config_dir, "config.json"), "w") as f:
        json.dump({"credsStore": "pass"}, f)
    log = tmp_path / "browser.jsonl"
    plugin.env.update(pass_env)
    plugin.env.update(DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS="1", BROWSER_LOG=str(log))
    return OAuthUser(plugin, tmp_path, log, [])
