"""`docker mcp oauth authorize` given bad input, through the real docker CLI: a wrong or missing state or
code on the callback, a denied consent, a busy callback port, nobody visiting the URL, a rejected client
secret (oidc-provider and the Slack stand-in), unreachable endpoints, malformed metadata, plain http
without the insecure flag, an unset client secret, and servers that are not remote or not there at all.

Every failure exits non-zero with one clear line on stderr (the busy port: the Go plugin's multi-line
help), no traceback, nothing stored, `oauth ls --json` not authorized, and no client secret in any output."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.e2e.conftest import DOCKER
from tests.e2e.oauth_support import OAuthUser, free_port, remote_entry
from tests.helpers.oidc import OidcServer, start_oidc
from tests.helpers.user_agent import approve
from tests.servers.protected_resource import ProtectedResource
from tests.servers.slack_standin import TOKEN_PATH, SlackStandIn

PLANTED_SECRET = "PLANTED-bad-input-secret-" + secrets.token_hex(8)  # what the authorization server accepts
WRONG_SECRET = "WRONG-bad-input-secret-" + secrets.token_hex(8)  # a secret the server rejects
SERVER = "slack-official"
SECRET_NAME = f"{SERVER}.client_secret"
CLIENT_ID = "pre-registered-app"
NO_INSECURE = {"DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS": ""}


# --- helpers ---


def client(port: int, method: str = "client_secret_basic") -> dict[str, Any]:
    """oidc-provider metadata of the pre-registered client, redirecting to 127.0.0.1:port."""
    c: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "token_endpoint_auth_method": method,
        "redirect_uris": [f"http://127.0.0.1:{port}/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "mcp:tools",
    }
    if method != "none":
        c["client_secret"] = PLANTED_SECRET
    return c


@contextmanager
def provider(
    tmp_path: Any, port: int, auth_methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post", "none")
) -> Iterator[tuple[ProtectedResource, OidcServer]]:
    """A protected resource whose authorization server is an oidc-provider knowing the client (no DCR)."""
    with ProtectedResource() as resource:
        config = {
            "resource": resource.url,
            "registration": False,
            "tokenEndpointAuthMethods": list(auth_methods),
            "clients": [client(port)],
        }
        with start_oidc(tmp_path, config) as oidc:
            resource.authorization_server = oidc.issuer
            yield resource, oidc


def closed_url(path: str) -> str:
    """A URL on a 127.0.0.1 port nothing listens on."""
    return f"http://127.0.0.1:{free_port()}{path}"


def entry_without_network(**kw: Any) -> str:
    """A pre-registered confidential client with both endpoints configured (so no discovery) on closed ports:
    authorize gets as far as the callback wait without talking to any server."""
    return remote_entry(
        SERVER,
        closed_url("/mcp"),
        client_id=CLIENT_ID,
        secret=True,
        authorization_endpoint=closed_url("/auth"),
        token_endpoint=closed_url("/token"),
        scopes=("mcp:tools",),
        **kw,
    )


def set_secret(user: OAuthUser, value: str = PLANTED_SECRET) -> None:
    user.ok("mcp", "secret", "set", SECRET_NAME, input=value + "\n")


def assert_not_authorized(user: OAuthUser, server: str = SERVER) -> None:
    assert user.stored(server) == (None, None)
    rows = json.loads(user.ok("mcp", "oauth", "ls", "--json"))
    assert [row for row in rows if row["app"] == server and row["authorized"]] == []


def assert_failed(
    user: OAuthUser, r: Any, *fragments: str, server: str = SERVER, exit_code: int = 1, one_line: bool = True
) -> str:
    """A clean failure: the exit code, one line on stderr with every fragment, no traceback, nothing stored,
    nothing leaked. Returns the message."""
    output = r.stdout + r.stderr
    assert r.returncode == exit_code, output
    assert "Traceback" not in output and "unexpected error" not in output, output
    # the stand-in browser (run by webbrowser, so sharing authorize's stderr) reports its own failures, and
    # authorize warns ("! …") when the browser command failed
    message = "\n".join(
        line for line in r.stderr.strip().splitlines() if not line.startswith(("browser_approve: ", "! "))
    )
    if one_line:
        assert len(message.splitlines()) == 1, f"not one line:\n{r.stderr}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert_not_authorized(user, server)
    user.assert_nothing_leaked(PLANTED_SECRET, WRONG_SECRET)
    return message


def get(url: str, **params: str) -> requests.Response:
    """A plain request to the callback server (no proxy from the environment)."""
    with requests.Session() as s:
        s.trust_env = False
        return s.get(url, params=params, timeout=10)


class Pending:
    """`docker mcp oauth authorize` started in the background without --open-browser, read line by line."""

    def __init__(self, user: OAuthUser, server: str, port: int, *extra: str) -> None:
        self.user = user
        cmd = [DOCKER, "mcp", "oauth", "authorize", server, "--callback-port", str(port), "--timeout", "60", *extra]
        self.process = subprocess.Popen(
            cmd,
            env=user.plugin.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: the plugin is stopped with the docker CLI
        )
        self.lines: list[str] = []
        self._stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.lines), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self._stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    def authorization_url(self, timeout: float = 60) -> str:
        """The URL printed after "Please visit this URL to authorize:", once authorize waits for the callback."""
        deadline = time.monotonic() + timeout
        while not any(line.startswith("Waiting for authorization callback") for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                for reader in self._readers:
                    reader.join(5)
                raise AssertionError(f"authorize did not wait for the callback:\n{''.join(self.lines + self._stderr)}")
            time.sleep(0.05)
        text = [line.strip() for line in self.lines]
        start = text.index("Please visit this URL to authorize:")
        return next(line for line in text[start + 1 :] if line)

    def finish(self, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        try:
            self.process.wait(timeout)
        finally:
            self.stop()
        for reader in self._readers:
            reader.join(10)
        done = subprocess.CompletedProcess(
            self.process.args, self.process.returncode, "".join(self.lines), "".join(self._stderr)
        )
        self.user.outputs += [done.stdout, done.stderr]
        return done

    def stop(self) -> None:
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@contextmanager
def pending(user: OAuthUser, server: str, port: int, *extra: str) -> Iterator[Pending]:
    p = Pending(user, server, port, *extra)
    try:
        yield p
    finally:
        p.stop()


# --- the callback ---


def test_wrong_state_is_refused_and_authorize_keeps_waiting_for_the_real_callback(oauth_user, tmp_path):
    port = free_port()
    with provider(tmp_path, port) as (resource, oidc):
        oauth_user.import_server(remote_entry(SERVER, resource.url, client_id=CLIENT_ID, secret=True))
        set_secret(oauth_user)
        with pending(oauth_user, SERVER, port) as p:
            url = p.authorization_url()
            assert parse_qs(urlsplit(url).query)["state"][0] != "WRONG"
            callback = f"http://127.0.0.1:{port}/callback"
            wrong = get(callback, code="x", state="WRONG")
            assert wrong.status_code == 400
            assert "state" in wrong.text
            assert get(callback, code="x").status_code == 400  # no state at all
            assert get(f"http://127.0.0.1:{port}/elsewhere", code="x", state="WRONG").status_code == 404
            time.sleep(0.5)
            assert p.process.poll() is None, "authorize stopped after a callback with a wrong state"
            assert oidc.count("/token") == 0  # the bogus code was never exchanged

            page = approve(url)  # the real user signs in and consents
            assert page.status_code == 200 and "Authorization Successful" in page.text
            r = p.finish()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert "Authorization successful! Token stored securely." in r.stdout
    assert oidc.count("/token", method="POST") == 1
    record, token = oauth_user.stored(SERVER)
    assert record is not None and token is not None and token.access_token
    [row] = json.loads(oauth_user.ok("mcp", "oauth", "ls", "--json"))
    assert row["app"] == SERVER and row["authorized"] is True
    oauth_user.assert_nothing_leaked(PLANTED_SECRET, token.access_token, token.refresh_token)


def test_right_state_without_a_code(oauth_user):
    port = free_port()
    oauth_user.import_server(entry_without_network())
    set_secret(oauth_user)
    with pending(oauth_user, SERVER, port) as p:
        state = parse_qs(urlsplit(p.authorization_url()).query)["state"][0]
        answer = get(f"http://127.0.0.1:{port}/callback", state=state)
        assert answer.status_code == 400 and "code" in answer.text
        r = p.finish()
    assert_failed(oauth_user, r, "no authorization code")


def test_user_denies_consent(oauth_user, tmp_path):
    port = free_port()
    with provider(tmp_path, port) as (resource, oidc):
        oauth_user.import_server(remote_entry(SERVER, resource.url, client_id=CLIENT_ID, secret=True))
        set_secret(oauth_user)
        r = oauth_user.authorize(SERVER, port, action="deny")
        assert oidc.count("/token") == 0
    assert_failed(oauth_user, r, "access_denied")
    [record] = oauth_user.browser_records()
    assert record["action"] == "deny" and record["callback_query"]["error"] == "access_denied"


def test_callback_port_already_in_use(oauth_user):
    from docker_mcp.oauth.callback import port_busy_message

    oauth_user.import_server(entry_without_network())
    set_secret(oauth_user)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = oauth_user.authorize(SERVER, port)
    message = assert_failed(oauth_user, r, f"OAuth callback port {port} is already in use.", one_line=False)
    expected = port_busy_message(port, OSError("-")).splitlines()
    lines = message.splitlines()
    assert lines[:-1] == expected[:-1]
    assert lines[0] == f"OAuth callback port {port} is already in use."
    assert lines[-1].startswith("Error: ") and "in use" in lines[-1]
    assert "--callback-port 5001" in message and f"lsof -i :{port}" in message
    assert oauth_user.browser_records() == []  # the browser is not opened when nothing can hear its callback


def test_nobody_visits_the_url(oauth_user):
    port = free_port()
    oauth_user.import_server(entry_without_network())
    set_secret(oauth_user)
    started = time.monotonic()
    r = oauth_user.docker("mcp", "oauth", "authorize", SERVER, "--callback-port", str(port), "--timeout", "1")
    assert time.monotonic() - started < 30
    assert "Please visit this URL to authorize:" in r.stdout
    assert_failed(oauth_user, r, "no authorization callback within 1 s", "--timeout")
    assert oauth_user.browser_records() == []


# --- the token endpoint rejects the client ---


@pytest.mark.parametrize("endpoints", ["discovered", "configured"])
def test_wrong_client_secret_oidc_provider(oauth_user, tmp_path, endpoints):
    port = free_port()
    # discovered: the metadata advertises client_secret_basic only; configured: no metadata. Either way
    # Basic and then the body (golang.org/x/oauth2 does so without metadata; servers that advertise Basic
    # and read only the body exist), and both are refused
    with provider(tmp_path, port, auth_methods=("client_secret_basic",)) as (resource, oidc):
        kw: dict[str, Any] = {}
        if endpoints == "configured":
            kw = {
                "authorization_endpoint": oidc.issuer + "/auth",
                "token_endpoint": oidc.issuer + "/token",
                "scopes": ("mcp:tools",),
            }
        oauth_user.import_server(remote_entry(SERVER, resource.url, client_id=CLIENT_ID, secret=True, **kw))
        set_secret(oauth_user, WRONG_SECRET)
        r = oauth_user.authorize(SERVER, port)
        token_calls = [q for q in oidc.requests() if q["path"] == "/token" and q["method"] == "POST"]
    assert_failed(oauth_user, r, "token endpoint error: invalid_client")
    assert oauth_user.browser_records()[-1]["ok"] is True  # the browser step itself succeeded
    schemes = [q["auth_scheme"] for q in token_calls]
    assert schemes == ["Basic", None]
    assert all(q["status"] == 401 for q in token_calls)


def test_wrong_client_secret_slack_standin(oauth_user):
    port = free_port()
    redirect_uri = f"http://localhost:{port}/callback"
    with SlackStandIn("slack-app", PLANTED_SECRET, redirect_uri) as slack:
        oauth_user.import_server(
            remote_entry(
                SERVER,
                slack.base_url + "/mcp",
                client_id="slack-app",
                secret=True,
                authorization_endpoint=slack.authorize_url,
                token_endpoint=slack.token_url,
                redirect_uri=redirect_uri,
                scopes=("search:read.public",),
            )
        )
        set_secret(oauth_user, WRONG_SECRET)
        r = oauth_user.authorize(SERVER, port)
        token_calls = [q for q in slack.requests if q.path == TOKEN_PATH]
    assert_failed(oauth_user, r, "bad_client_secret")
    assert oauth_user.browser_records()[-1]["ok"] is True
    # no metadata: Basic first (the stand-in, like Slack, takes only the body), then the body
    assert [q.error for q in token_calls] == ["bad_client_secret", "bad_client_secret"]
    assert [q.auth for q in token_calls] == ["Basic", None]


# --- unreachable endpoints ---


def test_token_endpoint_unreachable(oauth_user, tmp_path):
    port = free_port()
    token_endpoint = closed_url("/token")
    with provider(tmp_path, port) as (resource, oidc):
        oauth_user.import_server(
            remote_entry(
                SERVER,
                resource.url,
                client_id=CLIENT_ID,
                secret=True,
                authorization_endpoint=oidc.issuer + "/auth",
                token_endpoint=token_endpoint,
                scopes=("mcp:tools",),
            )
        )
        set_secret(oauth_user)
        r = oauth_user.authorize(SERVER, port)
    assert_failed(oauth_user, r, f"cannot reach the token endpoint {token_endpoint}")
    assert oauth_user.browser_records()[-1]["ok"] is True


def test_both_endpoints_unreachable(oauth_user):
    """authorize itself never calls the authorization endpoint: the browser cannot load it, and authorize
    ends at its timeout with the usual message (nothing reaches the token endpoint)."""
    port = free_port()
    oauth_user.import_server(entry_without_network())
    set_secret(oauth_user)
    r = oauth_user.authorize(SERVER, port, "--timeout", "3")
    assert_failed(oauth_user, r, "no authorization callback within 3 s")
    [record] = oauth_user.browser_records()
    assert record["ok"] is False and "Connection" in record["error"]


def test_remote_url_unreachable_and_no_endpoints(oauth_user):
    port = free_port()
    url = closed_url("/mcp")
    oauth_user.import_server(remote_entry(SERVER, url, client_id=CLIENT_ID, secret=True))
    set_secret(oauth_user)
    r = oauth_user.authorize(SERVER, port)
    assert_failed(oauth_user, r, f"cannot reach {url}")
    assert oauth_user.browser_records() == []


# --- malformed authorization server metadata ---


class BadMetadataServer:
    """An MCP server (401 naming its RFC 9728 metadata) that is its own authorization server and serves
    `body` at /.well-known/oauth-authorization-server; every other path is 404."""

    def __init__(self, body: bytes) -> None:
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                outer.paths.append(self.path)
                headers = {"Content-Type": "application/json"}
                if self.path == "/mcp":
                    status, data = 401, b'{"error": "invalid_token"}'
                    metadata = f"{outer.base_url}/.well-known/oauth-protected-resource/mcp"
                    headers["WWW-Authenticate"] = f'Bearer resource_metadata="{metadata}"'
                elif self.path == "/.well-known/oauth-protected-resource/mcp":
                    status = 200
                    data = json.dumps(
                        {
                            "resource": outer.base_url + "/mcp",
                            "authorization_servers": [outer.base_url],
                            "scopes_supported": ["mcp:tools"],
                        }
                    ).encode()
                elif self.path == "/.well-known/oauth-authorization-server":
                    status, data = 200, body.replace(b"BASE", outer.base_url.encode())
                else:
                    status, data = 404, b"not found"
                    headers["Content-Type"] = "text/plain"
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> BadMetadataServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


METADATA = {
    # name: (what /.well-known/oauth-authorization-server serves, what the message must say)
    "invalid-json": (
        b'{"issuer": "BASE", "authorization_endpoint": ',
        "authorization server metadata at BASE/.well-known/oauth-authorization-server is not a JSON object",
    ),
    "json-list": (
        b'["BASE/authorize", "BASE/token"]',
        "authorization server metadata at BASE/.well-known/oauth-authorization-server is not a JSON object",
    ),
    "no-token-endpoint": (
        b'{"issuer": "BASE", "authorization_endpoint": "BASE/authorize", "response_types_supported": ["code"]}',
        "token_endpoint is missing",
    ),
    "token-endpoint-not-a-url": (
        b'{"issuer": "BASE", "authorization_endpoint": "BASE/authorize", "token_endpoint": "token"}',
        "token_endpoint",
    ),
}


@pytest.mark.parametrize("case", list(METADATA))
def test_malformed_authorization_server_metadata(oauth_user, case):
    body, fragment = METADATA[case]
    port = free_port()
    with BadMetadataServer(body) as server:
        for dcr in (False, True):  # a pre-registered client without endpoints, then dynamic registration
            oauth_user.import_server(
                remote_entry(SERVER, server.base_url + "/mcp", client_id=None if dcr else CLIENT_ID, secret=not dcr)
            )
            if not dcr:
                set_secret(oauth_user)
            r = oauth_user.authorize(SERVER, port)
            assert_failed(oauth_user, r, fragment.replace("BASE", server.base_url))
        assert "/.well-known/oauth-authorization-server" in server.paths
    assert oauth_user.browser_records() == []


# --- plain http without DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS ---


def test_catalog_import_refuses_an_http_token_endpoint_without_the_flag(oauth_user):
    path = oauth_user.tmp / "insecure.yaml"
    path.write_text(
        remote_entry(
            SERVER,
            "https://mcp.example.com/mcp",
            client_id=CLIENT_ID,
            secret=True,
            authorization_endpoint="https://auth.example.com/authorize",
            token_endpoint=closed_url("/token"),
        )
    )
    r = oauth_user.docker("mcp", "catalog", "import", str(path), env=NO_INSECURE)
    assert_failed(oauth_user, r, "tokenEndpoint", "https")
    r = oauth_user.docker("mcp", "oauth", "authorize", SERVER, env=NO_INSECURE)
    assert_failed(oauth_user, r, "not found in any configured catalog")  # nothing was imported


def test_http_remote_url_without_the_flag(oauth_user):
    port = free_port()
    with ProtectedResource() as resource:
        path = oauth_user.tmp / "insecure.yaml"
        path.write_text(remote_entry(SERVER, resource.url, client_id=CLIENT_ID, secret=True))
        # the catalog may hold an http remote.url (the gateway decides); OAuth refuses it
        oauth_user.ok("mcp", "catalog", "import", str(path), env=NO_INSECURE)
        set_secret(oauth_user)
        r = oauth_user.docker(
            "mcp", "oauth", "authorize", SERVER, "--callback-port", str(port), "--timeout", "5", env=NO_INSECURE
        )
        assert resource.paths == []  # refused before any request
    assert_failed(oauth_user, r, resource.url, "https")


def test_http_endpoints_imported_with_the_flag_refused_without_it(oauth_user):
    port = free_port()
    oauth_user.import_server(entry_without_network())  # imported while the flag is on
    set_secret(oauth_user)
    r = oauth_user.docker(
        "mcp", "oauth", "authorize", SERVER, "--callback-port", str(port), "--timeout", "5", env=NO_INSECURE
    )
    # the catalog layer already refuses the stored entry; the OAuth layer would say "authorization endpoint"
    message = assert_failed(oauth_user, r, "https", "DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS")
    assert re.search("authorization ?endpoint", message, re.IGNORECASE), message
    assert "Please visit this URL" not in r.stdout


# --- the client secret is not set anywhere ---


def test_client_secret_not_set(oauth_user, tmp_path):
    port = free_port()
    secrets_dir = tmp_path / "no-docker-secrets"
    secrets_dir.mkdir()
    oauth_user.plugin.env.pop("SLACK_OFFICIAL_SECRET", None)
    oauth_user.plugin.env["DOCKER_MCP_SECRETS_DIR"] = str(secrets_dir)
    oauth_user.import_server(entry_without_network())
    r = oauth_user.authorize(SERVER, port)
    assert_failed(oauth_user, r, SECRET_NAME, f"docker mcp secret set {SECRET_NAME}")
    assert oauth_user.browser_records() == []  # failed before the browser step
    assert "Opening your browser" not in r.stdout


# --- servers authorize cannot handle ---


def test_server_not_in_any_catalog(oauth_user):
    r = oauth_user.docker("mcp", "oauth", "authorize", "not-in-catalog")
    assert_failed(oauth_user, r, "not-in-catalog", "not found in any configured catalog", server="not-in-catalog")


def test_server_that_is_not_remote(oauth_user):
    oauth_user.import_server("name: local-tool\ntype: server\nimage: mcp/local-tool\n")
    r = oauth_user.docker("mcp", "oauth", "authorize", "local-tool")
    assert_failed(oauth_user, r, "local-tool", "not a remote server", server="local-tool")
    assert oauth_user.browser_records() == []


def test_a_server_name_resolving_to_a_private_address_is_refused(oauth_user):
    """Not only private literals and local names: a name whose DNS answer (here /etc/hosts) is private."""
    host = socket.gethostname()
    addresses = {info[4][0] for info in socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)}
    if not addresses or any(ipaddress.ip_address(a).is_global for a in addresses):
        pytest.skip(f"{host} does not resolve to private addresses only on this machine")
    port = free_port()
    path = oauth_user.tmp / "private.yaml"
    path.write_text(remote_entry(SERVER, f"https://{host}/mcp", client_id=CLIENT_ID, secret=True))
    oauth_user.ok("mcp", "catalog", "import", str(path), env=NO_INSECURE)
    set_secret(oauth_user)
    r = oauth_user.docker(
        "mcp", "oauth", "authorize", SERVER, "--callback-port", str(port), "--timeout", "5", env=NO_INSECURE
    )
    assert_failed(oauth_user, r, f"host '{host.lower()}' resolved to disallowed address")
