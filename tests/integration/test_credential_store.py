"""The credential store and the secret resolver against the real docker-credential-pass."""

from __future__ import annotations

import json
import os
import stat

import pytest

from docker_mcp.secrets import named
from docker_mcp.secrets.resolver import MissingSecretError, SecretSourceError, SecretSources, resolve_secret
from docker_mcp.secrets.store import CredentialStoreError, HelperStore, helper_name, open_store


def test_pass_helper_stores_gets_lists_and_erases(pass_config):
    store = open_store(pass_config)
    assert store.description == "docker-credential-pass"
    assert store.get("https://nothing.mcp-dcr") is None
    store.put("https://slack.mcp-dcr", "dcr_client", "eyJjbGllbnRJZCI6ICJ4In0=")
    store.put("https://auth.example/authorize/slack", "oauth2_slack", "dG9rZW4=")
    found = store.get("https://slack.mcp-dcr")
    assert (found.username, found.secret) == ("dcr_client", "eyJjbGllbnRJZCI6ICJ4In0=")
    assert "eyJ" not in repr(found)
    assert store.list(suffix=".mcp-dcr") == {"https://slack.mcp-dcr": "dcr_client"}
    assert list(store.list(prefix="https://auth.example/")) == ["https://auth.example/authorize/slack"]
    store.put("https://slack.mcp-dcr", "dcr_client", "cmVwbGFjZWQ=")  # overwrite
    assert store.get("https://slack.mcp-dcr").secret == "cmVwbGFjZWQ="
    assert store.delete("https://slack.mcp-dcr") is True
    assert store.delete("https://slack.mcp-dcr") is False
    assert store.get("https://slack.mcp-dcr") is None


def test_named_secrets_use_the_mcp_secret_keys(pass_config):
    store = open_store(pass_config)
    named.set_secret(store, "slack-official.client_secret", "PLANTED-value-1")
    assert store.list(suffix=".mcp-secret") == {"https://slack-official.client_secret.mcp-secret": "mcp_secret"}
    assert named.list_names(store) == ["slack-official.client_secret"]
    with pytest.raises(named.SecretNotFoundError, match=r'^secret "ghost" not found: '):
        named.remove(store, ["slack-official.client_secret", "ghost"])
    assert named.list_names(store) == []


def test_no_helper_configured_says_how_to_configure_one(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CredentialStoreError) as e:
        helper_name(str(tmp_path))
    message = str(e.value)
    assert '"credsStore"' in message and str(tmp_path / "config.json") in message
    assert "pass" in message and "osxkeychain" in message


def test_a_helper_missing_from_path_is_named(tmp_path):
    with pytest.raises(CredentialStoreError, match=r"docker-credential-nosuch .* is not on PATH"):
        HelperStore("nosuch")


def test_a_failing_helper_is_reported_with_its_name(tmp_path, monkeypatch):
    helper = tmp_path / "bin" / "docker-credential-broken"
    helper.parent.mkdir()
    helper.write_text("#!/bin/sh\necho 'keyring is locked'\nexit 3\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{helper.parent}:{os.environ['PATH']}")
    store = HelperStore("broken")
    with pytest.raises(CredentialStoreError, match="docker-credential-broken failed to store an entry"):
        store.put("https://x.mcp-secret", "mcp_secret", "value")
    with pytest.raises(CredentialStoreError, match="keyring is locked"):
        store.get("https://x.mcp-secret")
    # the resolver reports the broken helper instead of pretending the secret is missing
    sources = SecretSources(secrets_dir=str(tmp_path / "none"), store=lambda: store)
    with pytest.raises(CredentialStoreError, match="docker-credential-broken"):
        resolve_secret("x", None, sources)


# --- the resolver chain ---


@pytest.fixture
def sources(tmp_path, pass_config):
    secrets_dir = tmp_path / "run-secrets"
    secrets_dir.mkdir()
    env_file = tmp_path / "secrets.env"
    env_file.write_text("# comment\n\nslack-official.client_secret=from-dotenv\nOTHER=x=y\n")
    store = open_store(pass_config)

    def make(environ=None, files=(str(env_file),)):
        return SecretSources(str(secrets_dir), environ or {}, lambda: store, files)

    return secrets_dir, store, make


NAME, ENV = "slack-official.client_secret", "SLACK_CLIENT_SECRET"


def test_precedence_docker_secret_then_env_then_store_then_dotenv(sources):
    secrets_dir, store, make = sources
    named.set_secret(store, NAME, "from-store")
    (secrets_dir / NAME).write_text("from-file\n")
    environ = {ENV: "from-env"}
    assert resolve_secret(NAME, ENV, make(environ)).value == "from-file"
    (secrets_dir / NAME).unlink()
    resolved = resolve_secret(NAME, ENV, make(environ))
    assert (resolved.value, resolved.source) == ("from-env", "environment SLACK_CLIENT_SECRET")
    resolved = resolve_secret(NAME, ENV, make({}))
    assert (resolved.value, resolved.source) == ("from-store", "credential store docker-credential-pass")
    named.remove(store, [NAME])
    resolved = resolve_secret(NAME, ENV, make({}))
    assert resolved.value == "from-dotenv" and resolved.source.startswith(".env file ")
    assert "from-dotenv" not in repr(resolved)


def test_a_secret_file_loses_exactly_one_trailing_newline(sources):
    secrets_dir, _, make = sources
    (secrets_dir / NAME).write_text("value\n\n")
    assert resolve_secret(NAME, ENV, make()).value == "value\n"
    (secrets_dir / NAME).write_text("value")
    assert resolve_secret(NAME, ENV, make()).value == "value"


def test_an_unreadable_secret_file_is_an_error_naming_it(sources):
    secrets_dir, _, make = sources
    (secrets_dir / NAME).mkdir()  # root reads any mode, so a directory stands for "cannot be read"
    with pytest.raises(SecretSourceError, match=f"cannot read secret {NAME} from {secrets_dir}/{NAME}"):
        resolve_secret(NAME, ENV, make())
    (secrets_dir / NAME).rmdir()
    (secrets_dir / NAME).write_bytes(b"\xff\xfe")
    with pytest.raises(SecretSourceError, match="not UTF-8"):
        resolve_secret(NAME, ENV, make())


def test_a_missing_secret_names_itself_and_both_ways_to_set_it(sources):
    _, _, make = sources
    with pytest.raises(MissingSecretError) as e:
        resolve_secret(NAME, ENV, make(files=()))
    assert str(e.value) == (
        f"secret {NAME} is not set: run 'docker mcp secret set {NAME}' or export SLACK_CLIENT_SECRET=…"
    )


def test_a_malformed_env_file_is_named_with_its_line(sources, tmp_path):
    _, _, make = sources
    bad = tmp_path / "bad.env"
    bad.write_text("GOOD=1\nno equals sign\n")
    with pytest.raises(SecretSourceError, match=f"{bad}:2: expected KEY=VALUE"):
        resolve_secret(NAME, ENV, make(files=(str(bad),)))


def test_without_a_helper_the_other_sources_still_work(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({}))
    sources = SecretSources(str(tmp_path), {ENV: "from-env"}, lambda: open_store(str(tmp_path)))
    assert resolve_secret(NAME, ENV, sources).value == "from-env"
    with pytest.raises(MissingSecretError, match="credential store unavailable: no credential helper configured"):
        resolve_secret(NAME, ENV, SecretSources(str(tmp_path), {}, lambda: open_store(str(tmp_path))))
