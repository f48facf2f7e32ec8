"""E2E: `docker mcp catalog import` of an invalid input, through the real docker CLI, fails with exit code
1 and one line on stderr that names the file (and line:column where the parser knows it), and changes
nothing under ~/.docker/mcp — neither on a fresh machine nor over an already imported catalog."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.conftest import SLACK_EXAMPLE
from tests.e2e.conftest import Plugin

PLANTED_SECRET = "xoxb-PLANTED-SECRET-123"

# A valid remote server with a pre-registered client; the §5.1 cases each break one thing in it. Its name is
# the one the "existing" state has already imported, so an invalid file would replace that catalog.
REMOTE = """\
name: slack-official
type: remote
remote:
  url: https://mcp.slack.com/mcp
secrets:
  - name: slack-official.client_secret
    env: SLACK_CLIENT_SECRET
oauth:
  scopes: [search:read.public]
  credentials:
"""


@dataclass(frozen=True)
class Case:
    """One invalid input: what to write, the message fragment it must produce, and where it points."""

    content: bytes | Callable[[str], None] | None  # bytes to write; a function that makes the path; None: absent
    fragment: str | None  # a piece of the message after `file[:line:col]: `
    at: str | None = None  # text on the line the message must point at; None: line:column optional
    env: dict[str, str] | None = None


def text(s: str) -> bytes:
    return s.encode("utf-8")


def credentials(*lines: str) -> bytes:
    return text(REMOTE + "".join(f"    {line}\n" for line in lines))


def make_directory(path: str) -> None:
    os.mkdir(path)


def make_50_mb_file(path: str) -> None:
    """A valid server file padded with comments to 50 MB: only its size is wrong."""
    with open(path, "wb") as f:
        f.write(text("name: slack-official\ntype: remote\nremote:\n  url: https://mcp.slack.com/mcp\n"))
        line = b"# " + b"x" * 1021 + b"\n"
        for _ in range(50 * 1024):
            f.write(line)


def binary_bytes() -> bytes:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(4096)


CASES = [
    # YAML that does not parse
    pytest.param(
        Case(text("name: slack-official\ntype: remote\n  url: [\n"), "invalid YAML", at="  url: ["),
        id="yaml-syntax-error",
    ),
    pytest.param(
        Case(text("name: slack-official\ntype: remote\ntype: server\n"), 'duplicate key "type"', at="type: server"),
        id="yaml-duplicate-key",
    ),
    pytest.param(
        Case(text("name: slack-official\ntype: remote\ndescription: " + "[" * 2000 + "]" * 2000 + "\n"), None),
        id="yaml-nested-2000-deep",
    ),
    pytest.param(
        Case(text("name: slack-official\ntype: server\ntitle: " + "9" * 5000 + "\n"), None),
        id="integer-of-5000-digits",
    ),
    # wrong types
    pytest.param(
        Case(text('name: s\ntype: server\nsecrets: "x"\n'), "secrets: must be a list", at='secrets: "x"'),
        id="secrets-a-string",
    ),
    pytest.param(
        Case(text('name: s\ntype: server\nlongLived: "yes"\n'), "longLived: must be true or false", at="longLived:"),
        id="longLived-a-string",
    ),
    pytest.param(
        Case(text("name: s\ntype: server\ncommand: {a: 1}\n"), "command: must be a list", at="command:"),
        id="command-a-mapping",
    ),
    pytest.param(
        Case(text("name: [a]\ntype: server\n"), "name: must be a string", at="name:"),
        id="name-a-list",
    ),
    # a list where a mapping belongs
    pytest.param(Case(text("- name: s\n  type: server\n"), "must be a mapping", at="- name: s"), id="top-level-list"),
    pytest.param(
        Case(text("name: my-catalog\nregistry: [a, b]\n"), "registry: must be a mapping", at="registry:"),
        id="registry-a-list",
    ),
    pytest.param(
        Case(text("name: s\ntype: remote\nremote: [x]\n"), "remote: must be a mapping", at="remote:"),
        id="remote-a-list",
    ),
    # not a document at all
    pytest.param(Case(b"", "empty"), id="empty-file"),
    pytest.param(Case(text("\n   \n# only a comment\n\n  # another  \n   "), "empty"), id="whitespace-and-comments"),
    pytest.param(Case(binary_bytes(), "not a text file"), id="binary-png"),
    pytest.param(Case(make_50_mb_file, "more than a catalog file may hold"), id="50-mb-file"),
    pytest.param(Case(make_directory, "is a directory"), id="a-directory"),
    pytest.param(Case(None, "no such file"), id="missing-file"),
    pytest.param(
        Case(text("name: s\ntype: remote\nremote:\n  url: https://[::1/mcp\n"), "remote.url", at="url:"),
        id="remote-url-with-a-broken-ipv6-host",
    ),
    # PRODUCT.md §5.1: oauth.credentials
    pytest.param(
        Case(
            text("name: slack-official\ntype: server\nimage: mcp/x\noauth:\n  credentials:\n    clientId: abc\n"),
            "oauth.credentials: a pre-registered client needs a `type: remote` server",
            at="clientId: abc",
        ),
        id="credentials-on-a-container-server",
    ),
    pytest.param(
        Case(
            text("name: slack-official\ntype: remote\noauth:\n  credentials:\n    clientId: abc\n"),
            "`remote.url`",
            at="clientId: abc",
        ),
        id="credentials-on-a-remote-without-url",
    ),
    pytest.param(
        Case(
            credentials("tokenEndpoint: https://slack.com/api/oauth.v2.user.access"),
            "oauth.credentials.clientId: must be a non-empty string",
            at="tokenEndpoint:",
        ),
        id="clientId-missing",
    ),
    pytest.param(
        Case(credentials('clientId: ""'), "oauth.credentials.clientId: must be a non-empty string", at="clientId:"),
        id="clientId-empty",
    ),
    pytest.param(
        Case(
            credentials("clientId: 1601185624273.8899143856786"),
            "oauth.credentials.clientId: must be a non-empty string (quote it",
            at="clientId:",
        ),
        id="clientId-an-unquoted-number",
    ),
    pytest.param(
        Case(
            credentials("clientId: abc", "clientSecret: other.client_secret"),
            "oauth.credentials.clientSecret: must be the name of a secret declared in this server's `secrets`",
            at="clientSecret:",
        ),
        id="clientSecret-names-an-undeclared-secret",
    ),
    pytest.param(
        Case(
            credentials("clientId: abc", "tokenEndpoint: http://127.0.0.1:9/token"),
            "oauth.credentials.tokenEndpoint: must be an absolute https URL",
            at="tokenEndpoint:",
        ),
        id="tokenEndpoint-plain-http",
    ),
    pytest.param(
        Case(
            credentials("clientId: abc", "authorizationEndpoint: http://127.0.0.1:9/authorize"),
            "oauth.credentials.authorizationEndpoint: must be an absolute https URL",
            at="authorizationEndpoint:",
            env={"DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS": "0"},
        ),
        id="authorizationEndpoint-plain-http-with-insecure-urls-off",
    ),
    pytest.param(
        Case(
            credentials("clientId: abc", "redirectUri: https://example.com/callback"),
            "oauth.credentials.redirectUri: must be an http URL on a loopback host",
            at="redirectUri:",
        ),
        id="redirectUri-not-loopback",
    ),
    pytest.param(
        Case(
            credentials("clientId: abc", "redirectUri: http://localhost/callback"),
            "oauth.credentials.redirectUri: needs an explicit port",
            at="redirectUri:",
        ),
        id="redirectUri-without-port",
    ),
    pytest.param(
        Case(
            credentials("clientId: abc", "redirectUri: http://[::1/callback"),
            "oauth.credentials.redirectUri:",
            at="redirectUri:",
        ),
        id="redirectUri-with-a-broken-ipv6-host",
    ),
    pytest.param(
        Case(
            credentials("clientId: abc", "clientSecret: slack-official.client_secret", "tokenEndpointAuthMethod: none"),
            "oauth.credentials.tokenEndpointAuthMethod: is none (a public client) but clientSecret is set",
            at="tokenEndpointAuthMethod:",
        ),
        id="auth-method-none-with-a-secret",
    ),
    pytest.param(
        Case(
            credentials("clientId: abc", "tokenEndpointAuthMethod: client_secret_post"),
            "oauth.credentials.tokenEndpointAuthMethod: client_secret_post needs a clientSecret",
            at="tokenEndpointAuthMethod:",
        ),
        id="client_secret_post-without-a-secret",
    ),
    pytest.param(
        Case(
            credentials("clientId: abc", "tokenEndpointAuthMethod: client_secret_basic"),
            "oauth.credentials.tokenEndpointAuthMethod: client_secret_basic needs a clientSecret",
            at="tokenEndpointAuthMethod:",
        ),
        id="client_secret_basic-without-a-secret",
    ),
    pytest.param(
        Case(
            credentials("clientId: abc", "clientSecret: slack-official.client_secret", "tokenEndpointAuthMethod: jwt"),
            "oauth.credentials.tokenEndpointAuthMethod:",
            at="tokenEndpointAuthMethod:",
        ),
        id="auth-method-unsupported",
    ),
    pytest.param(
        Case(
            credentials("clientId: abc", "scope: chat:write"),
            "oauth.credentials.scope: unknown key",
            at="scope: chat:write",
        ),
        id="unknown-key-in-credentials",
    ),
]


def snapshot(root: str) -> dict[str, tuple] | None:
    """Every path under `root` with its kind, permission bits and bytes; None when `root` does not exist."""
    if not os.path.lexists(root):
        return None
    tree: dict[str, tuple] = {}
    for directory, dirs, files in os.walk(root):
        for name in [".", *dirs, *files]:
            path = os.path.normpath(os.path.join(directory, name))
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                tree[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                tree[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                with open(path, "rb") as f:
                    tree[rel] = ("file", stat.S_IMODE(st.st_mode), f.read())
    return tree


@pytest.fixture(scope="module")
def imported_mcp_dir(installed_config, shiv_root, tmp_path_factory) -> str:
    """~/.docker/mcp of a user who imported the Slack example and enabled its server (made once)."""
    home = tmp_path_factory.mktemp("home-with-catalog")
    config = home / ".docker"
    (config / "cli-plugins").mkdir(parents=True)
    shutil.copy2(os.path.join(installed_config, "cli-plugins", "docker-mcp"), config / "cli-plugins")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "SHIV_"))}
    env.update(HOME=str(home), DOCKER_CONFIG=str(config), SHIV_ROOT=shiv_root)
    user = Plugin(str(config), str(home), env)
    source = home / "slack-official.yaml"
    shutil.copy(SLACK_EXAMPLE, source)
    for args in (("catalog", "import", str(source)), ("server", "enable", "slack-official")):
        r = user.docker("mcp", *args)
        assert r.returncode == 0, r.stderr
    return str(config / "mcp")


@pytest.fixture(params=["fresh", "existing"])
def user(request, plugin) -> Plugin:
    """A user with no ~/.docker/mcp yet, or one with the Slack catalog imported and its server enabled."""
    if request.param == "existing":
        shutil.copytree(request.getfixturevalue("imported_mcp_dir"), os.path.join(plugin.home, ".docker", "mcp"))
    return plugin


def line_of(content: bytes, needle: str) -> int:
    lines = content.decode("utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def place(case: Case, path: str) -> None:
    if isinstance(case.content, bytes):
        with open(path, "wb") as f:
            f.write(case.content)
    elif case.content is not None:
        case.content(path)


def import_and_expect_nothing_changed(user: Plugin, label: str, env: dict[str, str] | None = None):
    mcp = os.path.join(user.home, ".docker", "mcp")
    before = snapshot(mcp)
    r = user.docker("mcp", "catalog", "import", label, env=env)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stdout == ""
    assert "Traceback" not in r.stderr
    assert "unexpected error" not in r.stderr, r.stderr
    assert r.stderr.endswith("\n") and r.stderr.count("\n") == 1, r.stderr
    assert snapshot(mcp) == before, "a failed import changed ~/.docker/mcp"
    return r.stderr.rstrip("\n")


@pytest.mark.parametrize("case", CASES)
def test_invalid_import_fails_with_one_line_naming_the_file_and_changes_nothing(user, tmp_path, case):
    path = str(tmp_path / "input.yaml")
    place(case, path)
    label = os.path.relpath(path)  # as the user typed it: the message must not rewrite it
    message = import_and_expect_nothing_changed(user, label, case.env)
    if case.at is not None:
        assert isinstance(case.content, bytes)
        match = re.match(re.escape(label) + r":(\d+):(\d+): ", message)
        assert match, f"no {label}:LINE:COL: prefix in {message!r}"
        assert int(match[1]) == line_of(case.content, case.at), message
        assert int(match[2]) >= 1
    else:
        assert message.startswith(label + ":"), message
    if case.fragment is not None:
        assert case.fragment in message


def test_literal_client_secret_is_refused_without_echoing_it(user, tmp_path):
    path = tmp_path / "slack-official.yaml"
    content = credentials('clientId: "1601185624273.8899143856786"', f"clientSecret: {PLANTED_SECRET}")
    path.write_bytes(content)
    mcp = os.path.join(user.home, ".docker", "mcp")
    before = snapshot(mcp)
    r = user.docker("mcp", "catalog", "import", str(path))
    assert r.returncode == 1
    assert PLANTED_SECRET not in r.stdout + r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"{path}:{line_of(content, 'clientSecret:')}:")
    assert "oauth.credentials.clientSecret" in r.stderr
    assert "docker mcp secret set" in r.stderr
    assert snapshot(mcp) == before


def test_literal_secret_in_a_duplicate_key_is_not_echoed(user, tmp_path):
    path = tmp_path / "slack-official.yaml"
    content = credentials("clientId: abc", f"clientSecret: {PLANTED_SECRET}", f"clientSecret: {PLANTED_SECRET}-2")
    path.write_bytes(content)
    message = import_and_expect_nothing_changed(user, str(path))
    assert PLANTED_SECRET not in message
    assert message.startswith(f"{path}:")


def test_plain_http_endpoints_are_accepted_with_insecure_remote_urls_allowed(plugin, tmp_path):
    path = tmp_path / "slack-official.yaml"
    path.write_bytes(
        credentials(
            "clientId: abc",
            "clientSecret: slack-official.client_secret",
            "authorizationEndpoint: http://127.0.0.1:9/authorize",
            "tokenEndpoint: http://127.0.0.1:9/token",
        )
    )
    import_and_expect_nothing_changed(plugin, str(path))
    insecure_ok = {"DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS": "1"}
    r = plugin.docker("mcp", "catalog", "import", str(path), env=insecure_ok)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == 'Imported server "slack-official" into catalog "slack-official"\n'
    # once stored, the catalog reads without the flag (OAuth checks every URL again before using it)
    r = plugin.docker("mcp", "catalog", "show", "slack-official", "--format", "json")
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)["registry"]["slack-official"]["oauth"]["credentials"]
    assert shown["tokenEndpoint"] == "http://127.0.0.1:9/token"
    assert shown["authorizationEndpoint"] == "http://127.0.0.1:9/authorize"


def test_a_server_file_within_the_size_limit_stays_readable_once_imported(user, tmp_path):
    """Import may refuse it, but may not store a catalog that every later read refuses."""
    path = tmp_path / "big.yaml"
    path.write_bytes(text("name: big\ntype: server\ntitle: " + "a" * (4 * 1024 * 1024 + 1000) + "\n"))
    r = user.docker("mcp", "catalog", "import", str(path))
    assert "Traceback" not in r.stderr
    if r.returncode == 0:
        r = user.docker("mcp", "catalog", "show", "big", "--format", "json")
        assert r.returncode == 0, r.stderr[:300]
        assert list(json.loads(r.stdout)["registry"]) == ["big"]
    else:
        assert r.returncode == 1 and r.stderr.startswith(f"{path}:") and r.stderr.count("\n") == 1


def test_json_server_file_with_an_escaped_emoji_imports_shows_and_lists_cleanly(plugin, tmp_path):
    """`\\ud83d\\ude00` is how JSON writers escape 😀 (a UTF-16 surrogate pair), not two broken characters."""
    path = tmp_path / "smile.json"
    path.write_text('{"name": "smile", "type": "server", "image": "mcp/smile", "description": "Smile \\ud83d\\ude00"}')
    r = plugin.docker("mcp", "catalog", "import", str(path))
    assert (r.returncode, r.stderr) == (0, "")
    r = plugin.docker("mcp", "catalog", "show", "smile")
    assert (r.returncode, r.stderr) == (0, "")
    assert "Smile \N{GRINNING FACE}" in r.stdout
    r = plugin.docker("mcp", "server", "enable", "smile")
    assert (r.returncode, r.stderr) == (0, "")
    r = plugin.docker("mcp", "server", "ls")
    assert (r.returncode, r.stderr) == (0, "")
    assert "Smile \N{GRINNING FACE}" in r.stdout
