"""Named secrets Docker's Go plugin put where it puts them, read by this plugin through the real docker
CLI (issue 17, items 3 and 4): `docker pass` entries `docker/mcp/<NAME>` served by the Desktop
stand-in's Secrets Engine, and the earlier `sm_<NAME>` entries in a real docker-credential-pass store.
`secret ls` says where each is, a server that declares one gets it, `secret rm` leaves them alone, and
`server ls --json` carries the Go plugin's `secrets` and `oauth` statuses. No planted value is printed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.test_json_contract import validate
from tests.helpers.go_plugin_secrets import plant_in_docker_pass, plant_sm_entry, sm_entry
from tests.servers.desktop_standin import DesktopBackend

OURS = "PLANTED-ours-value-7001"
ENGINE = "PLANTED-docker-pass-value-7002"
LEGACY = "PLANTED-sm-value-7003"
SHADOWED = "PLANTED-shadowed-by-ours-7004"
OURS_TOO = "PLANTED-ours-wins-7005"
TOKEN = "PLANTED-desktop-oauth-token-7006"
PLANTED = (OURS, ENGINE, LEGACY, SHADOWED, OURS_TOO, TOKEN)

ENGINE_PLACE = "docker pass (Go plugin, read-only)"
LEGACY_PLACE = "docker-credential-pass sm_ (Go plugin, read-only)"

CATALOG = """\
name: team
registry:
  hub:
    type: server
    image: mcp/hub
    description: Every secret set where the Go plugin put it
    secrets:
      - {name: engine.token, env: ENGINE_TOKEN}
      - {name: legacy.token, env: LEGACY_TOKEN}
      - {name: both.token, env: BOTH_TOKEN}
  half:
    type: server
    image: mcp/half
    secrets:
      - {name: engine.token, env: ENGINE_TOKEN}
      - {name: missing.token, env: MISSING_TOKEN}
  unset:
    type: server
    image: mcp/unset
    secrets:
      - {name: missing.token, env: MISSING_TOKEN}
  plain:
    type: server
    image: mcp/plain
  notes:
    type: remote
    remote: {url: https://notes.example/mcp}
    oauth:
      providers:
        - provider: notes
  wiki:
    type: remote
    remote: {url: https://wiki.example/mcp}
    oauth:
      providers:
        - provider: wiki
  open:
    type: remote
    remote: {url: https://open.example/mcp}
"""


class Session:
    """One user's docker mcp runs, every output kept to check no planted value is in any."""

    def __init__(self, plugin, standin: DesktopBackend) -> None:
        self.plugin, self.standin, self.outputs = plugin, standin, []

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None):
        r = self.plugin.docker("mcp", *args, input=input, env=env)
        self.outputs.append(r.stdout + r.stderr)
        return r

    def ok(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> str:
        r = self.run(*args, input=input, env=env)
        assert (r.returncode, r.stderr) == (0, ""), r.stderr
        return r.stdout

    def assert_nothing_leaked(self) -> None:
        for text in self.outputs:
            for value in PLANTED:
                assert value not in text


@pytest.fixture
def user(plugin, pass_env, tmp_path):
    """Docker Desktop (the stand-in) running with the Go plugin's secrets in docker pass, its earlier
    sm_ entries and our own secrets in docker-credential-pass (credsStore), and an OAuth token Desktop
    holds (an engine entry that is not a named secret)."""
    with open(os.path.join(plugin.config_dir, "config.json"), "w") as f:
        json.dump({"credsStore": "pass"}, f)
    plugin.env.update(pass_env)
    with DesktopBackend(plugin.home) as standin:
        plugin.env["XDG_CACHE_HOME"] = standin.cache_dir  # where the plugin finds the engine's socket
        session = Session(plugin, standin)
        session.ok("secret", "set", "ours.token", input=OURS)
        session.ok("secret", "set", "both.token", input=OURS_TOO)
        plant_in_docker_pass(standin, "engine.token", ENGINE)
        plant_in_docker_pass(standin, "both.token", SHADOWED)
        standin.hold_token("notes", TOKEN)  # docker/mcp/oauth/notes: Desktop's token, not a secret
        plant_sm_entry(pass_env, "legacy.token", LEGACY)
        plant_sm_entry(pass_env, "someone.else", LEGACY, username="not-mcp")  # not the Go plugin's
        yield session
        session.assert_nothing_leaked()


def test_secret_ls_lists_ours_and_the_go_plugins_each_with_where_it_is(user):
    user.standin.clear()
    listed = json.loads(user.ok("secret", "ls", "--json"))
    validate("secret-ls", listed)
    assert listed == [
        {"name": "both.token", "provider": "docker-credential-pass"},  # in both: ours wins, listed once
        {"name": "engine.token", "provider": ENGINE_PLACE},
        {"name": "legacy.token", "provider": LEGACY_PLACE},
        {"name": "ours.token", "provider": "docker-credential-pass"},
    ]
    assert user.standin.engine_calls() == ["docker/mcp/**"]  # the Go plugin's realm (secretsengine.go:28)
    assert user.ok("secret", "ls") == (
        "NAME           STORE\n"
        "both.token     docker-credential-pass\n"
        f"engine.token   {ENGINE_PLACE}\n"
        f"legacy.token   {LEGACY_PLACE}\n"
        "ours.token     docker-credential-pass\n"
    )
    assert user.ok("secret", "ls", "--format", "{{.Name}}: {{.Store}}").splitlines()[1] == (
        f"engine.token: {ENGINE_PLACE}"
    )
    # CE mode reads docker pass too: the engine is asked wherever its socket is
    ce = json.loads(user.ok("secret", "ls", "--json", env={"DOCKER_MCP_USE_CE": "true"}))
    assert ce == listed


def test_without_a_credential_store_of_ours_the_go_plugins_secrets_are_still_listed(user):
    """A Go plugin user who never set credsStore (docker pass needs none): ours cannot be listed, which
    stderr says in one line, and the Go plugin's are (exit 0); with none of the Go plugin's either, the
    missing credsStore is the error."""
    os.unlink(os.path.join(user.plugin.config_dir, "config.json"))
    r = user.run("secret", "ls", "--json")
    assert r.returncode == 0, r.stderr
    assert [row["name"] for row in json.loads(r.stdout)] == ["both.token", "engine.token", "legacy.token"]
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("Warning: ") and "credsStore" in r.stderr
    r = user.run("secret", "ls", env={"XDG_CACHE_HOME": user.plugin.home, "PASSWORD_STORE_DIR": "/nonexistent"})
    assert (r.returncode, r.stdout) == (1, ""), r.stderr
    assert len(r.stderr.splitlines()) == 1 and "credsStore" in r.stderr


def test_secret_rm_of_the_go_plugins_secret_changes_nothing_and_says_how(user, pass_env):
    r = user.run("secret", "rm", "engine.token")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (
        'secret "engine.token" is the Go plugin\'s (docker pass entry docker/mcp/engine.token) and read-only '
        "here: remove it with 'docker pass rm docker/mcp/engine.token'\n"
    )
    r = user.run("secret", "rm", "ours.token", "legacy.token")  # one of them the Go plugin's: neither goes
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (
        'secret "legacy.token" is the Go plugin\'s (docker-credential-pass entry sm_legacy.token) and '
        "read-only here: remove it with 'echo sm_legacy.token | docker-credential-pass erase'\n"
    )
    before = json.loads(user.ok("secret", "ls", "--json"))
    assert [s["name"] for s in before] == ["both.token", "engine.token", "legacy.token", "ours.token"]
    assert json.loads(sm_entry(pass_env, "legacy.token").stdout)["Username"] == "mcp"
    # ours: removed, and the Go plugin's shadowed value shows again, still read-only
    user.ok("secret", "rm", "both.token")
    assert {"name": "both.token", "provider": ENGINE_PLACE} in json.loads(user.ok("secret", "ls", "--json"))
    user.ok("secret", "rm", "--all")  # ours only
    assert json.loads(user.ok("secret", "ls", "--json")) == [
        {"name": "both.token", "provider": ENGINE_PLACE},
        {"name": "engine.token", "provider": ENGINE_PLACE},
        {"name": "legacy.token", "provider": LEGACY_PLACE},
    ]
    assert sm_entry(pass_env, "legacy.token").returncode == 0
    assert "docker/mcp/engine.token" in user.standin.secrets
    assert {c.path for c in user.standin.requests if c.socket == "secrets"} == {
        "/resolver.v1.ResolverService/GetSecrets"  # the engine is only read
    }


def test_a_server_that_declares_them_gets_each_from_where_it_is(user, tmp_path):
    """`gateway run --verbose` names where each value came from (never the value) as it builds the
    server's `docker run`; with no Docker engine the container does not start, which is not this test's."""
    (tmp_path / "team.yaml").write_text(CATALOG)
    user.ok("catalog", "import", str(tmp_path / "team.yaml"))
    user.ok("server", "enable", "hub", env={"DOCKER_MCP_USE_CE": "true"})
    r = user.run(
        "gateway", "run", "--dry-run", "--verbose", "--servers", "hub",
        env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"},
    )  # fmt: skip
    assert "- ENGINE_TOKEN: from the Go plugin's docker pass entry docker/mcp/engine.token (read-only)" in r.stderr
    assert "- LEGACY_TOKEN: from the Go plugin's docker-credential-pass entry sm_legacy.token (read-only)" in (r.stderr)
    assert "- BOTH_TOKEN: from credential store docker-credential-pass" in r.stderr  # ours wins


def test_server_ls_json_is_a_superset_of_the_go_plugins_list_entry(user, tmp_path):
    (tmp_path / "team.yaml").write_text(CATALOG)
    user.ok("catalog", "import", str(tmp_path / "team.yaml"))
    user.ok(
        "server", "enable", "hub", "half", "unset", "plain", "notes", "wiki", "open", env={"DOCKER_MCP_USE_CE": "true"}
    )
    user.standin.add_app("notes", authorized=True)
    user.standin.add_app("wiki", authorized=False)

    rows = json.loads(user.ok("server", "ls", "--json"))
    validate("server-ls", rows)
    go_keys = {"name", "description", "secrets", "config", "oauth"}  # cmd/docker-mcp/server/ls.go:26-34
    assert all(go_keys <= set(r) and {"catalog", "type"} <= set(r) for r in rows)
    assert {r["name"]: (r["secrets"], r["oauth"]) for r in rows} == {
        "half": ("partial", "none"),
        "hub": ("done", "none"),
        "notes": ("none", "done"),
        "open": ("none", "none"),
        "plain": ("none", "none"),
        "unset": ("required", "none"),
        "wiki": ("none", "required"),
    }
    # oauth is what `oauth ls` says of each server it lists
    apps = {a["app"]: a["authorized"] for a in json.loads(user.ok("oauth", "ls", "--json"))}
    assert {n: apps[n] for n in ("notes", "wiki")} == {"notes": True, "wiki": False}
    assert user.ok("server", "ls", "--format", "{{.Name}} {{.Secrets}} {{.OAuth}}").splitlines()[:2] == [
        "half partial none",
        "hub done none",
    ]
    # the default table keeps its columns, and reads no store
    user.standin.clear()
    assert user.ok("server", "ls").splitlines()[0].split() == ["NAME", "CATALOG", "TYPE", "CONFIG", "DESCRIPTION"]
    assert user.standin.engine_calls() == [] and user.standin.tools_calls() == []

    # CE mode: no Desktop app authorizes notes; docker pass still counts
    ce = json.loads(user.ok("server", "ls", "--json", env={"DOCKER_MCP_USE_CE": "true"}))
    assert {r["name"]: (r["secrets"], r["oauth"]) for r in ce if r["name"] in ("hub", "notes")} == {
        "hub": ("done", "none"),
        "notes": ("none", "required"),
    }


def test_an_engine_that_does_not_answer_is_skipped_quietly(user, tmp_path):
    socket_path = Path(user.standin.engine_path)
    socket_path.unlink()
    socket_path.write_text("")  # a stale socket file: nothing listens
    listed = json.loads(user.ok("secret", "ls", "--json"))
    assert [s["name"] for s in listed] == ["both.token", "legacy.token", "ours.token"]
    (tmp_path / "team.yaml").write_text(CATALOG)
    user.ok("catalog", "import", str(tmp_path / "team.yaml"))
    user.ok("server", "enable", "hub", env={"DOCKER_MCP_USE_CE": "true"})
    assert json.loads(user.ok("server", "ls", "--json"))[0]["secrets"] == "partial"  # legacy and ours only
    socket_path.unlink()  # no socket at all
    assert json.loads(user.ok("secret", "ls", "--json")) == listed
