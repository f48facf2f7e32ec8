"""docker_mcp.desktop.secrets_engine and the gateway's Desktop token source (oauth/desktop.py
DesktopTokens) against the Desktop stand-in's Secrets Engine on its unix socket: where the socket is,
the Connect-RPC wire form, not_found, base64 values, expiry metadata, a missing engine, and the
GET /apps/<app> that makes Desktop refresh a token."""

from __future__ import annotations

import base64
import os
import socket
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from docker_mcp.desktop.api import DesktopClient
from docker_mcp.desktop.detect import secrets_engine_socket
from docker_mcp.desktop.secrets_engine import SecretsEngineClient, SecretsEngineError
from docker_mcp.oauth.desktop import DesktopTokens
from docker_mcp.oauth.errors import NotAuthorizedError, OAuthError
from docker_mcp.oauth.tokens import Token
from tests.servers.desktop_standin import GET_SECRETS, DesktopBackend, DesktopCall

TOKEN = "PLANTED-desktop-access-token"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    return str(tmp_path)


@pytest.fixture
def desktop(home, monkeypatch):
    with DesktopBackend(home) as standin:
        monkeypatch.setenv("XDG_CACHE_HOME", standin.cache_dir)
        yield standin, SecretsEngineClient(home)


def in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def test_the_socket_is_in_the_user_cache_dir_as_go_finds_it(home, monkeypatch, tmp_path):
    assert secrets_engine_socket(home) == os.path.join(home, ".cache", "docker-secrets-engine", "engine.sock")
    monkeypatch.setenv("XDG_CACHE_HOME", "/var/cache/someone")
    assert secrets_engine_socket(home) == "/var/cache/someone/docker-secrets-engine/engine.sock"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # Go refuses it: the temporary directory then
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert secrets_engine_socket(home) == os.path.join(tmp_path, "docker-secrets-engine", "engine.sock")


def test_the_socket_is_where_the_standin_listens(desktop):
    standin, client = desktop
    assert client.socket == standin.engine_path


def test_get_secrets_is_connect_unary_json_with_the_exact_id_as_pattern(desktop):
    standin, client = desktop
    standin.hold_token("notion", TOKEN, expiry="2031-02-03T04:05:06Z")
    found = client.get_secret("docker/mcp/oauth/notion")
    assert found is not None
    assert (found.id, found.value, found.expiry) == (
        "docker/mcp/oauth/notion",
        TOKEN.encode(),
        datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC),
    )
    assert standin.requests == [
        DesktopCall("secrets", "POST", GET_SECRETS, '{"pattern":"docker/mcp/oauth/notion"}', "application/json")
    ]
    assert TOKEN not in repr(found)


def test_not_found_is_none(desktop):
    _, client = desktop
    assert client.get_secret("docker/mcp/oauth/nobody") is None
    assert client.get_secrets("docker/mcp/oauth/**") == []


def test_values_are_base64_in_any_of_protobufs_json_forms(desktop):
    standin, client = desktop
    raw = bytes(range(250, 256)) + b"?>"  # standard and URL-safe base64 differ on these
    standin.secrets["a"] = {"id": "a", "value": base64.b64encode(raw).decode()}
    standin.secrets["b"] = {"id": "b", "value": base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    standin.secrets["c"] = {"id": "c", "value": "not base64!"}
    assert client.get_secret("a").value == raw
    assert client.get_secret("b").value == raw
    assert client.get_secret("b").expiry is None  # no ExpiryAt: never expires
    with pytest.raises(SecretsEngineError) as e:
        client.get_secret("c")
    assert str(e.value) == "the Secrets Engine sent 'c' with a value that is not base64"


def test_no_engine_is_one_error_that_says_so(home):
    client = SecretsEngineClient(home)
    with pytest.raises(SecretsEngineError) as e:
        client.get_secret("docker/mcp/oauth/notion")
    assert str(e.value) == (
        f"secrets engine is not available: cannot connect to {client.socket}: No such file or directory"
    )


def test_an_engine_that_sends_no_headers_within_a_second_is_an_error(home, monkeypatch):
    with tempfile.TemporaryDirectory(prefix="xdg-") as cache:  # short: a unix socket's path is
        monkeypatch.setenv("XDG_CACHE_HOME", cache)
        client = SecretsEngineClient(home)
        os.makedirs(os.path.dirname(client.socket))
        silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        silent.bind(client.socket)
        silent.listen()
        accepted: list[socket.socket] = []
        threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
        started = time.monotonic()
        try:
            with pytest.raises(SecretsEngineError) as e:
                client.get_secret("docker/mcp/oauth/notion")
        finally:
            for s in [silent, *accepted]:
                s.close()
        assert str(e.value) == "failed to query Secrets Engine: timed out"
        assert time.monotonic() - started < 3


# --- the gateway's token source for the servers Desktop authorizes ---


@pytest.fixture
def tokens(desktop, home):
    standin, engine = desktop
    standin.add_app("notion", authorized=True)
    return standin, DesktopTokens(engine, DesktopClient(home))


def test_a_fresh_token_is_read_and_desktop_is_not_asked(tokens):
    standin, source = tokens
    standin.hold_token("notion", TOKEN, expiry=in_an_hour())
    token = source.token("notion")
    assert token.access_token == TOKEN and token.expiry is not None
    assert standin.engine_calls() == ["docker/mcp/oauth/notion"] and standin.tools_calls() == []


def test_a_token_expiring_within_the_margin_is_refreshed_by_accessing_the_app(tokens):
    standin, source = tokens
    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    standin.hold_token("notion", "PLANTED-old", expiry=soon)
    standin.refresh_on_access("notion", "PLANTED-new", expiry=in_an_hour())
    assert source.token("notion").access_token == "PLANTED-new"
    assert standin.tools_calls() == [("GET", "/apps/notion", "")]
    assert standin.engine_calls() == ["docker/mcp/oauth/notion"] * 2


def test_a_rejected_token_is_refreshed_once_and_a_second_rejection_means_authorize_again(tokens):
    standin, source = tokens
    standin.hold_token("notion", "PLANTED-old")
    standin.refresh_on_access("notion", "PLANTED-new")
    first = source.token("notion")
    assert source.token("notion", rejected=first).access_token == "PLANTED-new"
    assert source.token("notion", rejected=first).access_token == "PLANTED-new"  # refreshed meanwhile: no call
    assert standin.tools_calls() == [("GET", "/apps/notion", "")]
    with pytest.raises(NotAuthorizedError) as e:
        source.token("notion", rejected=Token("PLANTED-new"))  # Desktop has nothing newer
    assert str(e.value) == "authorization for notion expired: run 'docker mcp oauth authorize notion'"


def test_no_token_or_an_app_desktop_calls_unauthorized_is_the_authorize_hint(tokens):
    standin, source = tokens
    with pytest.raises(NotAuthorizedError) as e:
        source.token("notion")
    assert str(e.value) == "notion is not authorized: run 'docker mcp oauth authorize notion'"
    assert not source.has_token("notion")
    standin.hold_token("notion", "PLANTED-old")
    standin.apps["notion"]["authorized"] = False
    with pytest.raises(NotAuthorizedError) as e:
        source.token("notion", rejected=Token("PLANTED-old"))
    assert str(e.value) == "notion is not authorized: run 'docker mcp oauth authorize notion'"


def test_an_unreachable_engine_is_reported_with_the_server(tokens):
    standin, source = tokens
    os.unlink(standin.engine_path)
    with pytest.raises(OAuthError) as e:
        source.token("notion")
    assert str(e.value).startswith(
        "could not read the token Docker Desktop holds for notion: secrets engine is not available: "
    )
    assert not source.has_token("notion")
