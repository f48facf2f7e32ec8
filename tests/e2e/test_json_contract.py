"""The JSON contract (docs/json-contract.md): every `--format json` / `--json` command, run through the
docker CLI as the Docker Desktop extension runs it (a subprocess, no TTY, stdin at EOF), prints one JSON
document on stdout, valid against its schema in docs/json/, and exits 0."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from tests.conftest import ROOT, SLACK_EXAMPLE, setup_cfg_version
from tests.e2e.conftest import DOCKER, Plugin
from tests.e2e.oauth_support import OAuthUser, free_port, remote_entry
from tests.servers.desktop_standin import DesktopBackend

SCHEMA_DIR = os.path.join(ROOT, "docs", "json")
RFC3339_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")

TEAM_CATALOG = """\
# Container servers with settings, env, command, volumes and tools.
name: team
displayName: Team MCP Servers
x-owner: platform-team   # an unknown key: kept in the file, not printed
registry:
  dockerhub:
    description: Docker Hub official MCP server.
    title: Docker Hub
    type: server
    image: mcp/dockerhub@sha256:b3a124cc092a2eb24b3cad69d9ea0f157581762d993d599533b1802740b2c262
    longLived: true
    readme: https://example.com/dockerhub/README.md
    icon: https://example.com/dockerhub.png
    secrets:
      - name: dockerhub.pat_token
        env: HUB_PAT_TOKEN
    env:
      - name: HUB_USERNAME
        value: "{{dockerhub.username}}"
      - name: LOG_LEVEL
        value: info
      - name: EMPTY
    command: ["--transport=stdio", "--username={{dockerhub.username}}"]
    tools:
      - name: search
        description: Search Docker Hub repositories
        arguments:
          - {name: query, type: string, desc: what to look for}
          - {name: limit, type: integer, desc: how many, optional: true}
        annotations: {title: Search, readOnlyHint: true}
      - name: get_image
    config:
      - name: dockerhub
        description: Configure connection to Docker Hub
        type: object
        properties:
          username: {type: string}
        required: [username]
    metadata:
      category: devops
      tags: [docker, hub]
      pulls: 1200
      dateAdded: 2025-06-01
  filesystem:
    description: Read and write files under the given paths.
    type: server
    image: mcp/filesystem:latest
    command: ["/projects"]
    volumes:
      - "{{filesystem.paths|volume|into}}"
      - /tmp:/tmp:ro
    user: "1000:1000"
    disableNetwork: true
    tools:
      - name: read_file
        description: Read a file
      - name: write_file
        description: Write a file
    config:
      - name: filesystem
        type: object
        properties:
          paths: {type: array, items: {type: string}}
          readonly: {type: boolean}
  atlassian:
    type: server
    image: mcp/atlassian
    allowHosts: ["example.atlassian.net:443"]
    extraHosts: ["host.docker.internal:host-gateway"]
    config:
      - name: atlassian
        type: object
        properties:
          confluence:
            type: object
            properties:
              url: {type: string}
              username: {type: string}
          jira:
            type: object
            properties:
              url: {type: string}
  time:
    type: server
    image: mcp-time:test
    description: Time and time zone conversion
    prefix: time
  docker:
    title: Docker
    type: poci
    image: docker@sha256:cf5c79bbf3a1f8f9a5e2a7e5bb2f8ccb4e1bbf69ae4d5b2c6aa5f0c3e3d2c1b0
    tools:
      - name: docker
        description: use the docker cli
        parameters:
          type: object
          properties:
            args: {type: array, description: Arguments to pass, items: {type: string}}
          required: [args]
        container:
          image: docker@sha256:cf5c79bbf3a1f8f9a5e2a7e5bb2f8ccb4e1bbf69ae4d5b2c6aa5f0c3e3d2c1b0
          command: ["{{args|into}}"]
          volumes: [/var/run/docker.sock:/var/run/docker.sock]
  asana:
    title: Asana
    type: remote
    remote:
      transport_type: streamable-http
      url: https://asana.example.com/api/mcp/v1/sse
      headers: {X-Team: "${ASANA_TEAM}", Accept: text/event-stream}
    sseEndpoint: https://asana.example.com/sse
    oauth:
      providers:
        - provider: asana
          secret: asana.personal_access_token
          env: ASANA_PERSONAL_ACCESS_TOKEN
      scopes: [default]
  untyped:
    image: example/untyped:1
"""

SCRATCH_CATALOG = """\
name: scratch
registry:
  retired:
    type: server
    image: example/retired
"""

CONFIG_YAML = """\
dockerhub:
  username: alice
filesystem: {}
atlassian:
  confluence:
    url: https://example.atlassian.net
"""

ENABLED = ["asana", "atlassian", "dockerhub", "filesystem", "slack-official", "time"]


def _schemas() -> dict[str, dict[str, Any]]:
    out = {}
    for file in sorted(os.listdir(SCHEMA_DIR)):
        if file.endswith(".schema.json"):
            with open(os.path.join(SCHEMA_DIR, file), encoding="utf-8") as f:
                out[file.removesuffix(".schema.json")] = json.load(f)
    return out


SCHEMAS = _schemas()
REGISTRY: Registry = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema)) for schema in SCHEMAS.values()
)


def validate(schema: str, document: Any) -> None:
    validator = Draft202012Validator(
        SCHEMAS[schema], registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def _reject_non_finite(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON (RFC 8259)")


def only_json(stdout: str) -> Any:
    """The one strict-JSON document stdout holds, with nothing before it and one newline after."""
    value, end = json.JSONDecoder(parse_constant=_reject_non_finite).raw_decode(stdout)
    assert stdout[end:] == "\n", f"stdout holds more than the JSON document: {stdout[end:]!r}"
    return value


def run(plugin: Plugin, *args: str) -> subprocess.CompletedProcess[str]:
    """`docker mcp ARGS` as the Desktop extension runs it: pipes, no TTY, stdin closed at once."""
    return subprocess.run([DOCKER, "mcp", *args], env=plugin.env, input="", capture_output=True, text=True, timeout=120)


def json_of(plugin: Plugin, schema: str, *args: str) -> Any:
    r = run(plugin, *args)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    document = only_json(r.stdout)
    validate(schema, document)
    return document


def ok(plugin: Plugin, *args: str) -> str:
    r = run(plugin, *args)
    assert r.returncode == 0, f"docker mcp {' '.join(args)}: {r.stderr}"
    return r.stdout


def _new_user(installed_config: str, shiv_root: str, directory: str) -> Plugin:
    """What the `plugin` fixture makes, for a module-scoped user."""
    home = os.path.join(directory, "home")
    config = os.path.join(home, ".docker")
    os.makedirs(os.path.join(config, "cli-plugins"))
    shutil.copy2(os.path.join(installed_config, "cli-plugins", "docker-mcp"), os.path.join(config, "cli-plugins"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "SHIV_"))}
    env.update(HOME=home, DOCKER_CONFIG=config, SHIV_ROOT=shiv_root)
    return Plugin(config, home, env)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("catalog-files")
    paths = {
        "slack": str(directory / "slack-official.yaml"),
        "team": str(directory / "team.yaml"),
        "scratch": str(directory / "scratch.yaml"),
    }
    shutil.copyfile(SLACK_EXAMPLE, paths["slack"])
    (directory / "team.yaml").write_text(TEAM_CATALOG)
    (directory / "scratch.yaml").write_text(SCRATCH_CATALOG)
    return paths


@pytest.fixture(scope="module")
def user(installed_config, shiv_root, tmp_path_factory, files) -> Plugin:
    """A user with three catalogs (imported, imported and updated, created empty), servers enabled from
    two of them plus one whose catalog is gone, settings in config.yaml and a tools.yaml allow list."""
    plugin = _new_user(installed_config, shiv_root, str(tmp_path_factory.mktemp("desktop-user")))
    ok(plugin, "catalog", "import", files["slack"])
    ok(plugin, "catalog", "import", files["team"])
    ok(plugin, "catalog", "update", "team")
    ok(plugin, "catalog", "create", "notes")
    ok(plugin, "server", "enable", *ENABLED)
    # enabled, then its catalog removed (enable and disable would prune it, so it comes last)
    ok(plugin, "catalog", "import", files["scratch"])
    ok(plugin, "server", "enable", "retired")
    ok(plugin, "catalog", "rm", "scratch")
    ok(plugin, "config", "write", CONFIG_YAML)
    with open(os.path.join(plugin.home, ".docker", "mcp", "tools.yaml"), "w", encoding="utf-8") as f:
        f.write("filesystem:\n  - read_file\n")
    ok(plugin, "feature", "enable", "tool-name-prefix")
    return plugin


def test_schemas_are_valid_draft_2020_12_with_an_id_each():
    assert set(SCHEMAS) == {
        *("version", "feature-ls", "catalog-ls", "catalog-show", "server-ls", "server-inspect"),
        *("secret-ls", "oauth-ls", "tools-ls", "tools-count", "tools-inspect", "tools-call", "error"),
    }
    for name, schema in SCHEMAS.items():
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"urn:docker-mcp:schema:{name}"


# version and feature ls


def test_version_json(user):
    assert json_of(user, "version", "version", "--format", "json") == {"version": setup_cfg_version()}


def test_feature_ls_json(user):
    features = json_of(user, "feature-ls", "feature", "ls", "--format", "json")
    assert [(f["name"], f["enabled"], f["known"]) for f in features] == [
        ("mcp-oauth-dcr", True, True),
        ("tool-name-prefix", True, True),
    ]


def test_feature_ls_json_lists_unknown_features_with_a_null_description(plugin):
    with open(os.path.join(plugin.config_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump({"features": {"mcp-oauth-dcr": "disabled", "some-future-flag": "enabled"}}, f)
    features = json_of(plugin, "feature-ls", "feature", "ls", "--format", "json")
    assert (features[0]["name"], features[0]["enabled"], features[0]["known"]) == ("mcp-oauth-dcr", False, True)
    assert features[-1] == {"name": "some-future-flag", "enabled": True, "known": False, "description": None}


# catalog ls and show


def test_catalog_ls_json_is_one_compact_line(user, files):
    r = run(user, "catalog", "ls", "--format", "json")
    assert r.returncode == 0 and r.stdout.count("\n") == 1 and ": " not in r.stdout
    index = json_of(user, "catalog-ls", "catalog", "ls", "--format", "json")
    assert list(index["catalogs"]) == ["notes", "slack-official", "team"]
    assert index["catalogs"]["notes"] == {"displayName": "notes"}
    assert index["catalogs"]["slack-official"] == {"displayName": "Slack (Official MCP)", "url": files["slack"]}
    team = index["catalogs"]["team"]
    assert (team["displayName"], team["url"]) == ("Team MCP Servers", files["team"])
    assert RFC3339_SECONDS.match(team["lastUpdate"]), team["lastUpdate"]
    stamp = datetime.fromisoformat(team["lastUpdate"])
    assert abs(datetime.now().astimezone() - stamp) < timedelta(minutes=10)


def test_catalog_show_json_of_a_multi_server_catalog(user):
    catalog = json_of(user, "catalog-show", "catalog", "show", "team", "--format", "json")
    assert (catalog["name"], catalog["displayName"]) == ("team", "Team MCP Servers")
    assert list(catalog["registry"]) == sorted(catalog["registry"])
    assert set(catalog["registry"]) == {"asana", "atlassian", "dockerhub", "docker", "filesystem", "time", "untyped"}
    hub = catalog["registry"]["dockerhub"]
    assert list(hub)[:3] == ["type", "image", "description"]
    assert hub["env"] == [
        {"name": "HUB_USERNAME", "value": "{{dockerhub.username}}"},
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "EMPTY", "value": ""},
    ]
    assert hub["command"] == ["--transport=stdio", "--username={{dockerhub.username}}"]
    assert hub["secrets"] == [{"name": "dockerhub.pat_token", "env": "HUB_PAT_TOKEN"}]
    assert hub["tools"][0]["arguments"][1] == {"name": "limit", "type": "integer", "desc": "how many", "optional": True}
    assert hub["metadata"]["dateAdded"] == "2025-06-01"
    assert hub["longLived"] is True and hub["remote"] == {}
    fs = catalog["registry"]["filesystem"]
    assert fs["volumes"] == ["{{filesystem.paths|volume|into}}", "/tmp:/tmp:ro"]
    assert (fs["user"], fs["disableNetwork"]) == ("1000:1000", True)
    assert catalog["registry"]["asana"]["remote"]["headers"] == {
        "Accept": "text/event-stream",
        "X-Team": "${ASANA_TEAM}",
    }
    assert catalog["registry"]["untyped"] == {"type": "", "image": "example/untyped:1", "remote": {}}
    assert "x-owner" not in json.dumps(catalog)


def test_catalog_show_json_of_the_imported_slack_server(user):
    catalog = json_of(user, "catalog-show", "catalog", "show", "slack-official", "--format", "json")
    slack = catalog["registry"]["slack-official"]
    assert slack["remote"] == {"url": "https://mcp.slack.com/mcp"}
    assert slack["oauth"]["credentials"]["clientSecret"] == "slack-official.client_secret"
    assert slack["secrets"] == [{"name": "slack-official.client_secret", "env": "SLACK_CLIENT_SECRET"}]


def test_catalog_show_json_of_an_empty_catalog(user):
    catalog = json_of(user, "catalog-show", "catalog", "show", "notes", "--format", "json")
    assert catalog == {"name": "notes", "displayName": "notes", "registry": {}}


# server ls and inspect


def test_server_ls_json(user):
    rows = json_of(user, "server-ls", "server", "ls", "--json")
    assert [r["name"] for r in rows] == sorted([*ENABLED, "retired"])
    by_name = {r["name"]: r for r in rows}
    assert {n: (r["catalog"], r["type"], r["config"]) for n, r in by_name.items()} == {
        "asana": ("team", "remote", "none"),
        "atlassian": ("team", "server", "partial"),
        "dockerhub": ("team", "server", "done"),
        "filesystem": ("team", "server", "required"),
        "retired": (None, None, "none"),
        "slack-official": ("slack-official", "remote", "none"),
        "time": ("team", "server", "none"),
    }
    assert by_name["time"]["description"] == "Time and time zone conversion"
    assert by_name["retired"]["description"] == ""
    # the Go plugin's statuses (cmd/docker-mcp/server/ls.go:26-34); no credential store: nothing is set
    assert {n: (r["secrets"], r["oauth"]) for n, r in by_name.items()} == {
        "asana": ("none", "required"),
        "atlassian": ("none", "none"),
        "dockerhub": ("required", "none"),
        "filesystem": ("none", "none"),
        "retired": ("none", "none"),
        "slack-official": ("required", "required"),
        "time": ("none", "none"),
    }


@pytest.mark.parametrize(
    "name",
    ["dockerhub", "filesystem", "atlassian", "time", "docker", "asana", "untyped", "slack-official"],
)
def test_server_inspect_json(user, name):
    shown = {}
    for catalog in ("team", "slack-official"):
        shown.update(json_of(user, "catalog-show", "catalog", "show", catalog, "--format", "json")["registry"])
    inspected = json_of(user, "server-inspect", "server", "inspect", name)
    assert inspected["name"] == name
    assert inspected["catalog"] == ("slack-official" if name == "slack-official" else "team")
    assert inspected["enabled"] is (name in ENABLED)
    assert inspected["server"] == shown[name]
    assert [t["name"] for t in inspected["tools"]] == [t["name"] for t in shown[name].get("tools", [])]


def test_server_inspect_json_marks_tools_from_the_tools_yaml_allow_list(user):
    inspected = json_of(user, "server-inspect", "server", "inspect", "filesystem")
    assert inspected["tools"] == [
        {"name": "read_file", "description": "Read a file", "enabled": True},
        {"name": "write_file", "description": "Write a file", "enabled": False},
    ]
    hub = json_of(user, "server-inspect", "server", "inspect", "dockerhub")
    assert hub["tools"] == [
        {"name": "search", "description": "Search Docker Hub repositories", "enabled": True},
        {"name": "get_image", "description": "", "enabled": True},
    ]


# Desktop mode changes nothing of what does not come from a credential store or Desktop


def test_the_same_documents_with_docker_desktop_running(user):
    commands = [
        ("version", "version", "--format", "json"),
        ("feature-ls", "feature", "ls", "--format", "json"),
        ("catalog-ls", "catalog", "ls", "--format", "json"),
        ("catalog-show", "catalog", "show", "team", "--format", "json"),
        ("server-ls", "server", "ls", "--json"),
        ("server-inspect", "server", "inspect", "dockerhub", "--format", "json"),
    ]
    ce = [json_of(user, *command) for command in commands]
    with DesktopBackend(user.home):
        assert [json_of(user, *command) for command in commands] == ce


# empty states


def test_empty_state_fresh_home(plugin):
    assert json_of(plugin, "catalog-ls", "catalog", "ls", "--format", "json") == {"catalogs": {}}
    assert run(plugin, "catalog", "ls", "--format", "json").stdout == '{"catalogs":{}}\n'
    assert json_of(plugin, "server-ls", "server", "ls", "--json") == []
    features = json_of(plugin, "feature-ls", "feature", "ls", "--format", "json")
    assert [(f["name"], f["enabled"]) for f in features] == [("mcp-oauth-dcr", True), ("tool-name-prefix", False)]
    assert json_of(plugin, "version", "version", "--format", "json") == {"version": setup_cfg_version()}


def test_empty_state_catalog_without_servers_and_nothing_enabled(plugin, files):
    ok(plugin, "catalog", "create", "empty")
    assert json_of(plugin, "catalog-show", "catalog", "show", "empty", "--format", "json") == {
        "name": "empty",
        "displayName": "empty",
        "registry": {},
    }
    ok(plugin, "catalog", "import", files["team"])
    ok(plugin, "server", "enable", "time", "docker")
    inspected = json_of(plugin, "server-inspect", "server", "inspect", "time")
    assert (inspected["enabled"], inspected["tools"]) == (True, [])
    ok(plugin, "server", "disable", "time", "docker")
    assert json_of(plugin, "server-ls", "server", "ls", "--json") == []
    assert json_of(plugin, "server-inspect", "server", "inspect", "time")["enabled"] is False
    ok(plugin, "server", "enable", "time")
    ok(plugin, "server", "reset")
    assert json_of(plugin, "server-ls", "server", "ls", "--json") == []


def test_empty_state_catalog_removed_under_enabled_servers(plugin, files):
    ok(plugin, "catalog", "import", files["team"])
    ok(plugin, "server", "enable", "dockerhub")
    ok(plugin, "catalog", "rm", "team")
    assert json_of(plugin, "catalog-ls", "catalog", "ls", "--format", "json") == {"catalogs": {}}
    assert json_of(plugin, "server-ls", "server", "ls", "--json") == [
        {
            "name": "dockerhub",
            "catalog": None,
            "type": None,
            "description": "",
            "config": "none",
            "secrets": "none",
            "oauth": "none",
        }
    ]


def test_catalog_ls_json_of_an_index_the_go_plugin_wrote(plugin):
    # The Go plugin's catalog.json: pretty, no final newline, and empty strings for what it does not know.
    mcp = os.path.join(plugin.home, ".docker", "mcp")
    os.makedirs(os.path.join(mcp, "catalogs"))
    index = {
        "catalogs": {
            "mine": {"displayName": "", "lastUpdate": "", "url": ""},
            "team": {"displayName": "Team", "lastUpdate": "2025-08-01T14:03:05+02:00", "url": "/srv/team.yaml"},
        }
    }
    with open(os.path.join(mcp, "catalog.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(index, indent=2, sort_keys=True))
    for name in ("mine", "team"):
        with open(os.path.join(mcp, "catalogs", f"{name}.yaml"), "w", encoding="utf-8") as f:
            f.write(f"name: {name}\ndisplayName: {name}\n")
    assert json_of(plugin, "catalog-ls", "catalog", "ls", "--format", "json") == {
        "catalogs": {
            "mine": {"displayName": "mine"},
            "team": {"displayName": "Team", "url": "/srv/team.yaml", "lastUpdate": "2025-08-01T14:03:05+02:00"},
        }
    }
    assert json_of(plugin, "catalog-show", "catalog", "show", "mine", "--format", "json")["registry"] == {}


# what YAML may hold that JSON must still carry as the schema says


def test_tool_names_and_descriptions_are_json_strings_whatever_the_yaml_scalar(plugin, tmp_path):
    # YAML reads `name: 123` as a number and `description:` as null; the contract says strings.
    (tmp_path / "odd.yaml").write_text(
        "name: odd\nregistry:\n  odd:\n    type: server\n    image: x\n    tools:\n"
        "      - name: 123\n        description:\n      - name: list\n        description: 42\n"
    )
    imported = run(plugin, "catalog", "import", str(tmp_path / "odd.yaml"))
    if imported.returncode != 0:  # refusing such a catalog with a clear error keeps the contract too
        assert imported.returncode == 1 and "odd.yaml:" in imported.stderr, imported.stderr
        return
    json_of(plugin, "catalog-show", "catalog", "show", "odd", "--format", "json")
    inspected = json_of(plugin, "server-inspect", "server", "inspect", "odd")
    assert [t["name"] for t in inspected["tools"]] == ["123", "list"]
    assert [t["description"] for t in inspected["tools"]] == ["", "42"]


def test_non_finite_yaml_numbers_never_reach_stdout_as_invalid_json(plugin, tmp_path):
    (tmp_path / "nan.yaml").write_text(
        "name: nan\nregistry:\n  nan:\n    type: server\n    image: x\n    metadata: {score: .nan, max: .inf}\n"
    )
    imported = run(plugin, "catalog", "import", str(tmp_path / "nan.yaml"))
    if imported.returncode != 0:
        assert imported.returncode == 1 and "nan.yaml:" in imported.stderr, imported.stderr
        return
    json_of(plugin, "catalog-show", "catalog", "show", "nan", "--format", "json")
    json_of(plugin, "server-inspect", "server", "inspect", "nan")


# --- the commands whose output depends on the mode: CE (the credsStore helper) or Docker Desktop ------

BIN = os.path.join(ROOT, "tests", "servers", "bin")  # the docker-credential-desktop stand-in
MODES = ("ce", "desktop")
STORE_PROGRAM = {"ce": "docker-credential-pass", "desktop": "docker-credential-desktop"}
PLANTED = "PLANTED-json-contract-value-8088"


@dataclass
class ModeUser:
    plugin: Plugin
    mode: str
    tmp: Path
    desktop: DesktopBackend | None  # the Desktop stand-in, in desktop mode


@pytest.fixture(params=MODES)
def mode_user(request, plugin, pass_env, tmp_path):
    """A user with docker-credential-pass as credsStore and Desktop's credential helper (a stand-in) on
    PATH; in `desktop` mode Docker Desktop runs (a backend stand-in answering /ping), in `ce` mode nothing
    answers, so the same environment gives the two modes."""
    with open(os.path.join(plugin.config_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump({"credsStore": "pass"}, f)
    plugin.env.update(pass_env)
    plugin.env.update(
        PATH=f"{BIN}:{plugin.env['PATH']}",
        DESKTOP_CREDENTIALS_FILE=str(tmp_path / "desktop-credentials.json"),
        DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS="1",
        BROWSER_LOG=str(tmp_path / "browser.jsonl"),
    )
    if request.param == "ce":
        yield ModeUser(plugin, "ce", tmp_path, None)
        return
    with DesktopBackend(plugin.home) as desktop:
        yield ModeUser(plugin, "desktop", tmp_path, desktop)


def json_error(plugin: Plugin, *args: str, exit_code: int = 1) -> str:
    """A command asked for JSON that fails: the exit code, nothing on stdout, and on stderr exactly one
    line, the error object. Returns its message."""
    r = run(plugin, *args)
    assert (r.returncode, r.stdout) == (exit_code, ""), r.stdout + r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and r.stderr.endswith("\n"), r.stderr
    error = json.loads(lines[0])
    validate("error", error)
    return str(error["error"])


def text_error(plugin: Plugin, *args: str, exit_code: int = 1) -> str:
    r = run(plugin, *args)
    assert (r.returncode, r.stdout) == (exit_code, ""), r.stdout + r.stderr
    return r.stderr


# secret ls


def test_secret_ls_json(mode_user):
    user = mode_user.plugin
    assert json_of(user, "secret-ls", "secret", "ls", "--json") == []
    for name in ("slack-official.client_secret", "github.personal_access_token"):
        r = user.docker("mcp", "secret", "set", name, input=PLANTED + "\n")
        assert r.returncode == 0, r.stderr
    r = run(user, "secret", "ls", "--json")
    assert PLANTED not in r.stdout + r.stderr
    assert json_of(user, "secret-ls", "secret", "ls", "--json") == [
        {"name": "github.personal_access_token", "provider": STORE_PROGRAM[mode_user.mode]},
        {"name": "slack-official.client_secret", "provider": STORE_PROGRAM[mode_user.mode]},
    ]


# oauth ls

UNAUTHORIZED_ENTRY = """\
name: acme
type: remote
remote:
  url: https://mcp.acme.example/mcp
oauth:
  providers:
    - provider: acme-oauth
  scopes: [read, write]
  credentials:
    clientId: acme-app
tools:
  - name: search
  - name: fetch
"""


def test_oauth_ls_json_empty(mode_user):
    assert json_of(mode_user.plugin, "oauth-ls", "oauth", "ls", "--json") == []
    assert run(mode_user.plugin, "oauth", "ls", "--json").stdout == "[]\n"


def test_oauth_ls_json_of_a_server_not_yet_authorized(mode_user):
    path = mode_user.tmp / "acme.yaml"
    path.write_text(UNAUTHORIZED_ENTRY)
    ok(mode_user.plugin, "catalog", "import", str(path))
    assert json_of(mode_user.plugin, "oauth-ls", "oauth", "ls", "--json") == [
        {
            "app": "acme",
            "authorized": False,
            "provider": "acme-oauth",
            "scopes": [],
            "tools": ["search", "fetch"],
            "clientType": "pre-registered",
            "expiresAt": None,
        }
    ]


def test_oauth_ls_json_of_docker_desktop_apps(mode_user):
    if mode_user.desktop is None:
        pytest.skip("Docker Desktop's apps are listed in Desktop mode only")
    mode_user.desktop.add_app("github", authorized=True, provider="github", scopes=("repo", "read:org"))
    mode_user.desktop.add_app("notion-remote", provider="notion")
    path = mode_user.tmp / "acme.yaml"
    path.write_text(UNAUTHORIZED_ENTRY)  # a pre-registered client: the local flow's, in Desktop mode too
    ok(mode_user.plugin, "catalog", "import", str(path))
    rows = json_of(mode_user.plugin, "oauth-ls", "oauth", "ls", "--json")
    assert [(r["app"], r["clientType"], r["authorized"]) for r in rows] == [
        ("acme", "pre-registered", False),
        ("github", "desktop", True),
        ("notion-remote", "desktop", False),
    ]
    assert rows[1] == {
        "app": "github",
        "authorized": True,
        "provider": "github",
        "scopes": [{"name": "repo"}, {"name": "read:org"}],
        "tools": [],
        "clientType": "desktop",
        "expiresAt": None,
    }
    assert rows[2]["provider"] == "notion"


@pytest.mark.parametrize("client", ["pre-registered", "dcr"])
def test_oauth_ls_json_of_an_authorized_server(mode_user, client):
    from tests.helpers.oidc import start_oidc
    from tests.servers.protected_resource import ProtectedResource

    if client == "dcr" and mode_user.mode == "desktop":
        pytest.skip("in Desktop mode Docker Desktop authorizes DCR servers (tests/e2e/test_desktop_*.py)")
    user = OAuthUser(mode_user.plugin, mode_user.tmp, mode_user.tmp / "browser.jsonl", [])
    port = free_port()
    with ProtectedResource() as resource:
        app = {
            "client_id": "pre-registered-app",
            "token_endpoint_auth_method": "none",
            "redirect_uris": [f"http://127.0.0.1:{port}/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "scope": "mcp:tools",
        }
        config = {
            "resource": resource.url,
            "registration": client == "dcr",
            "tokenEndpointAuthMethods": ["none"],
            "clients": [app] if client == "pre-registered" else [],
        }
        with start_oidc(mode_user.tmp, config) as oidc:
            resource.authorization_server = oidc.issuer
            client_id = "pre-registered-app" if client == "pre-registered" else None
            user.import_server(remote_entry("acme", resource.url, client_id=client_id))
            r = user.authorize("acme", port)
            assert r.returncode == 0, r.stdout + r.stderr
    [row] = json_of(mode_user.plugin, "oauth-ls", "oauth", "ls", "--json")
    assert {k: v for k, v in row.items() if k != "expiresAt"} == {
        "app": "acme",
        "authorized": True,
        "provider": "acme",
        "scopes": [{"name": "mcp:tools"}],
        "tools": [],
        "clientType": client,
    }
    expires = datetime.fromisoformat(row["expiresAt"].replace("Z", "+00:00"))
    assert timedelta(0) < expires - datetime.now(expires.tzinfo) < timedelta(days=1)
    if mode_user.mode == "desktop":  # the token went to Desktop's credential helper
        with open(mode_user.plugin.env["DESKTOP_CREDENTIALS_FILE"], encoding="utf-8") as f:
            assert any(e["Username"] == "oauth2_acme" for e in json.load(f).values())


# tools ls | count | inspect | call, against a real MCP server imported as a remote server


@pytest.fixture
def tools_user(mode_user):
    from tests.servers.mcp_remote import RemoteMcpServer

    with RemoteMcpServer(auth=None, tool_prefix="remote") as server:
        path = mode_user.tmp / "remote.yaml"
        path.write_text(f"name: remote\ntype: remote\nremote:\n  url: {server.url}\n")
        ok(mode_user.plugin, "catalog", "import", str(path))
        ok(mode_user.plugin, "server", "enable", "remote")
        yield mode_user.plugin


def test_tools_ls_count_and_inspect_json(tools_user):
    tools = json_of(tools_user, "tools-ls", "tools", "ls", "--format", "json")
    assert [(t["name"], t["server"]) for t in tools] == [
        ("remote_add", "remote"),
        ("remote_echo", "remote"),
        ("remote_whoami", "remote"),
    ]
    add = tools[0]
    assert add["description"] == "Add two integers."
    assert add["inputSchema"]["properties"]["a"]["type"] == "integer"
    assert add["inputSchema"]["required"] == ["a", "b"]
    assert json_of(tools_user, "tools-count", "tools", "count", "--format", "json") == {"count": 3}
    assert json_of(tools_user, "tools-inspect", "tools", "inspect", "remote_add", "--format", "json") == add
    assert json_of(tools_user, "tools-inspect", "tools", "inspect", "remote_add") == add  # always JSON


def test_tools_call_json(tools_user):
    result = json_of(tools_user, "tools-call", "tools", "call", "remote_add", "a=2", "b=40", "--format", "json")
    assert result["content"] == [{"type": "text", "text": "42"}] and result["isError"] is False
    echoed = json_of(tools_user, "tools-call", "tools", "call", "remote_echo", "text=hi there", "--format", "json")
    assert echoed["content"][0]["text"] == "hi there"


def test_tools_json_errors(tools_user):
    message = json_error(tools_user, "tools", "call", "nosuch", "--format", "json")
    assert message == "tool \"nosuch\" not found: run 'docker mcp tools ls' to list them"
    assert text_error(tools_user, "tools", "call", "nosuch") == message + "\n"
    message = json_error(tools_user, "tools", "inspect", "nosuch", "--format", "json")
    assert message == "tool \"nosuch\" not found: run 'docker mcp tools ls' to list them"
    # a tool that answers with an error result: the command fails, the tool's message in the error
    message = json_error(tools_user, "tools", "call", "remote_add", "a=two", "b=1", "--format", "json")
    assert message.startswith("error calling tool remote_add: ") and "remote_add" in message
    message = json_error(tools_user, "tools", "call", "remote_add", "not-a-pair", "--format", "json", exit_code=125)
    assert message == "argument 'not-a-pair' is not key=value"


# errors in JSON mode


def test_json_error_of_an_unknown_server(plugin):
    message = json_error(plugin, "server", "inspect", "nosuch", "--format", "json")
    assert message == (
        'server "nosuch" not found in any configured catalog: '
        "run 'docker mcp catalog ls' and 'docker mcp catalog show NAME' to list them"
    )
    assert text_error(plugin, "server", "inspect", "nosuch") == message + "\n"


def test_json_error_of_an_unknown_catalog(plugin):
    message = json_error(plugin, "catalog", "show", "nosuch", "--format", "json")
    assert text_error(plugin, "catalog", "show", "nosuch") == message + "\n"


@pytest.mark.parametrize(
    "args",
    [
        ("secret", "ls", "--json"),
        ("oauth", "ls", "--json"),
    ],
)
def test_json_error_of_a_broken_credential_store(plugin, args):
    with open(os.path.join(plugin.config_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump({"credsStore": "nosuch"}, f)
    message = json_error(plugin, *args)
    assert message.startswith("credential helper docker-credential-nosuch") and "not on PATH" in message
    assert text_error(plugin, *args[:-1]) == message + "\n"
    with open(os.path.join(plugin.config_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump({}, f)
    assert json_error(plugin, *args).startswith("no credential helper configured")


@pytest.mark.parametrize(
    "args",
    [
        ("server", "ls", "--json", "--bogus"),
        ("oauth", "ls", "--json", "extra"),
        ("tools", "ls", "--format", "json", "--servers"),
        ("version", "--format=json", "--bogus"),
        ("catalog", "nosuch", "--format", "json"),
    ],
)
def test_json_usage_errors(plugin, args):
    message = json_error(plugin, *args, exit_code=125)
    text = text_error(
        plugin, *[a for a in args if a not in ("--json", "json", "--format", "--format=json")], exit_code=125
    )
    assert text.startswith(message + "\n\nRun '"), text


def test_text_errors_stay_text(plugin):
    r = run(plugin, "server", "inspect", "nosuch")
    assert r.stderr.startswith('server "nosuch" not found in any configured catalog: ')
    r = run(plugin, "server", "ls", "--bogus")
    assert r.returncode == 125 and not r.stderr.startswith("{")
