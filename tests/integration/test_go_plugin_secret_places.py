"""The resolver reads the Go plugin's named secrets after our store (docker_mcp/secrets/go_plugin.py):
`docker/mcp/<NAME>` from the Desktop stand-in's Secrets Engine, then `sm_<NAME>` in the real
docker-credential-pass; an engine that is missing, stale or silent is skipped within a bounded wait.
Fixtures are written as the Go plugin writes them (tests/helpers/go_plugin_secrets.py)."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time

import pytest

from docker_mcp.secrets import named
from docker_mcp.secrets.filestore import FileStore
from docker_mcp.secrets.go_plugin import EngineSecrets, LegacyHelperSecrets, go_places
from docker_mcp.secrets.resolver import MissingSecretError, SecretSourceError, SecretSources, resolve_secret
from docker_mcp.secrets.store import open_store
from tests.helpers.go_plugin_secrets import plant_in_docker_pass, plant_sm_entry
from tests.servers.desktop_standin import DesktopBackend

ENGINE = "PLANTED-engine-8001"
LEGACY = "PLANTED-legacy-8002"
OURS = "PLANTED-ours-8003"


@pytest.fixture
def home(tmp_path, monkeypatch, pass_config):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("DOCKER_MCP_IN_CONTAINER", raising=False)
    return str(tmp_path)


@pytest.fixture
def engine(home, monkeypatch):
    with DesktopBackend(home) as standin:
        monkeypatch.setenv("XDG_CACHE_HOME", standin.cache_dir)
        yield standin


def sources(pass_config: str) -> SecretSources:
    return SecretSources.from_environment(store=lambda: open_store(pass_config, desktop_mode=False))


def test_the_go_plugins_places_come_after_ours_engine_first(engine, pass_env, pass_config):
    plant_in_docker_pass(engine, "a.token", ENGINE)
    plant_sm_entry(pass_env, "a.token", LEGACY)
    plant_sm_entry(pass_env, "b.token", LEGACY)
    found = resolve_secret("a.token", None, sources(pass_config))
    assert (found.value, found.source) == (ENGINE, "the Go plugin's docker pass entry docker/mcp/a.token (read-only)")
    found = resolve_secret("b.token", None, sources(pass_config))
    assert (found.value, found.source) == (
        LEGACY,
        "the Go plugin's docker-credential-pass entry sm_b.token (read-only)",
    )
    named.set_secret(open_store(pass_config), "a.token", OURS)
    assert resolve_secret("a.token", None, sources(pass_config)).value == OURS
    assert ENGINE not in repr(found) and LEGACY not in repr(found)


def test_oauth_tokens_in_the_engine_are_not_named_secrets(engine, pass_config):
    engine.hold_token("notes", "PLANTED-token")
    with pytest.raises(MissingSecretError):
        resolve_secret("oauth/notes", None, sources(pass_config))
    assert "docker/mcp/oauth/notes" not in engine.engine_calls()


def test_a_value_that_is_not_text_is_an_error_naming_the_place(engine, pass_config):
    engine.secrets["docker/mcp/bin.token"] = {"id": "docker/mcp/bin.token", "value": "//79"}  # ff fe fd
    with pytest.raises(SecretSourceError) as e:
        resolve_secret("bin.token", None, sources(pass_config))
    assert str(e.value) == "secret bin.token in docker pass (Go plugin, read-only) is not UTF-8 text"


def test_no_engine_socket_is_not_asked_and_a_missing_secret_says_how_to_set_it(home, pass_config):
    places = go_places(home, open_store(pass_config))
    assert [type(p) for p in places] == [EngineSecrets, LegacyHelperSecrets]
    assert places[0].names() == [] and places[0].get("a.token") is None
    with pytest.raises(MissingSecretError) as e:
        resolve_secret("a.token", "A_TOKEN", sources(pass_config))
    assert str(e.value) == "secret a.token is not set: run 'docker mcp secret set a.token' or export A_TOKEN=…"


def test_a_silent_engine_is_skipped_within_the_bounded_wait(home, monkeypatch, pass_env, pass_config):
    plant_sm_entry(pass_env, "a.token", LEGACY)
    with tempfile.TemporaryDirectory(prefix="xdg-") as cache:  # short: a unix socket's path is
        monkeypatch.setenv("XDG_CACHE_HOME", cache)
        path = os.path.join(cache, "docker-secrets-engine", "engine.sock")
        os.makedirs(os.path.dirname(path))
        silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        silent.bind(path)
        silent.listen()
        accepted: list[socket.socket] = []
        threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
        started = time.monotonic()
        try:
            assert resolve_secret("a.token", None, sources(pass_config)).value == LEGACY
        finally:
            for s in [silent, *accepted]:
                s.close()
        assert time.monotonic() - started < 5


def test_the_sm_entries_are_in_the_go_plugins_helper_whatever_our_store_is(home, pass_env, tmp_path):
    plant_sm_entry(pass_env, "a.token", LEGACY)
    ours = FileStore(str(tmp_path / "none"), None)  # not docker-credential-pass: pass is opened for sm_
    legacy = go_places(home, ours)[1]
    assert legacy.description == "docker-credential-pass sm_ (Go plugin, read-only)"
    assert (legacy.names(), legacy.get("a.token")) == (["a.token"], LEGACY)
    assert named.list_everywhere(ours, go_places(home, ours)) == {"a.token": legacy.description}


def test_the_gateways_container_has_no_go_places(home, monkeypatch):
    monkeypatch.setenv("DOCKER_MCP_IN_CONTAINER", "1")
    assert go_places(home) == []
