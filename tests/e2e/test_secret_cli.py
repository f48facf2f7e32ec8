"""`docker mcp secret …` through the real docker CLI, stored by the real docker-credential-pass."""

from __future__ import annotations

import json
import os

import pytest

from docker_mcp.secrets.resolver import SecretSources, resolve_secret
from docker_mcp.secrets.store import HelperStore

PLANTED = "xoxp-PLANTED-slack-secret-4242"
PLANTED_2 = "PLANTED-second-value-9393"


@pytest.fixture
def with_pass(plugin, pass_env):
    with open(os.path.join(plugin.config_dir, "config.json"), "w") as f:
        json.dump({"credsStore": "pass"}, f)
    plugin.env.update(pass_env)
    return plugin


def test_set_from_stdin_ls_rm_and_the_resolver_finds_the_value(with_pass, pass_env, monkeypatch):
    outputs = []

    def run(*args, input=None):
        r = with_pass.docker("mcp", "secret", *args, input=input)
        outputs.append(r.stdout + r.stderr)
        assert r.returncode == 0, r.stderr
        return r.stdout

    assert run("set", "slack-official.client_secret", input=PLANTED + "\n") == ""
    assert run("set", f"other.token={PLANTED_2}") == ""
    listing = run("ls")
    assert "slack-official.client_secret" in listing and "other.token" in listing
    assert json.loads(run("ls", "--json")) == [
        {"name": "other.token", "provider": "docker-credential-pass"},
        {"name": "slack-official.client_secret", "provider": "docker-credential-pass"},
    ]

    # The value the first command stored, as the resolver finds it (what OAuth and the gateway use).
    for key, value in pass_env.items():
        monkeypatch.setenv(key, value)
    sources = SecretSources(secrets_dir="/nonexistent", environ={}, store=lambda: HelperStore("pass"))
    resolved = resolve_secret("slack-official.client_secret", "SLACK_CLIENT_SECRET", sources)
    assert resolved.value == PLANTED and resolved.source == "credential store docker-credential-pass"

    run("rm", "slack-official.client_secret")
    assert "slack-official.client_secret" not in run("ls")
    run("rm", "--all")
    assert run("ls").split() == ["NAME", "STORE"]  # the header alone
    assert json.loads(run("ls", "--json")) == []

    for text in outputs:
        assert PLANTED not in text and PLANTED_2 not in text


def test_errors(with_pass):
    r = with_pass.docker("mcp", "secret", "rm", "ghost")
    assert r.returncode == 1 and r.stderr == "secret \"ghost\" not found: run 'docker mcp secret ls' to list them\n"
    r = with_pass.docker("mcp", "secret", "rm")
    assert r.returncode == 125 and "either provide a secret name or use --all" in r.stderr
    r = with_pass.docker("mcp", "secret", "set", "bad name=x")
    assert r.returncode == 1 and r.stderr.startswith('invalid secret name "bad name"')
    r = with_pass.docker("mcp", "secret", "set", "empty.value", input="")
    assert r.returncode == 1 and "empty value" in r.stderr


def test_without_a_credential_helper_nothing_is_stored_in_plain_text(plugin):
    r = plugin.docker("mcp", "secret", "set", f"x={PLANTED}")
    assert r.returncode == 1
    assert r.stderr.startswith('no credential helper configured: set "credsStore" in ')
    assert PLANTED not in r.stdout + r.stderr
    for root, _, files in os.walk(plugin.home):
        for name in files:
            path = os.path.join(root, name)
            if "cli-plugins" not in path:
                with open(path, "rb") as f:
                    assert PLANTED.encode() not in f.read(), path
