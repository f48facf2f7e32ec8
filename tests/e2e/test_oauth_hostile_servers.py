"""`docker mcp oauth …`, `catalog import` and `gateway run` against servers that fight back, through the
real docker CLI: endpoints that redirect the request (and its secrets) to another host, bodies that never
end, answers dripped one byte at a time, URLs that spell a private address inside an IPv6 one, error
text carrying terminal escapes or echoing the request, absurd `expires_in` values, and callback ports
that are no ports.

Each hostile server is a tests/servers/hostile.py server on 127.0.0.1; "the other host" a second one on
127.0.0.2, which must receive nothing. Every failure exits with one clean line, stores nothing, and
prints neither the client secret nor the authorization code (raw or form-encoded)."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from tests.e2e.conftest import DOCKER
from tests.e2e.oauth_support import OAuthUser, free_port, remote_entry
from tests.servers.hostile import HostileServer

SERVER = "hostile-app"
SECRET_ENV = "HOSTILE_APP_SECRET"  # the `env` remote_entry declares for the client secret
CLIENT_ID = "hostile-client"
PLANTED_SECRET = "PLANTED-hostile-secret-" + secrets.token_hex(8)
PLANTED_CODE = "PLANTED/code+" + secrets.token_hex(8)  # '/' and '+' change when form-encoded
NO_INSECURE = {"DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS": ""}
DEADLINE = {"DOCKER_MCP_HTTP_TIMEOUT": "2"}
REDIRECTED = "answered with a redirect (HTTP 307), which is not followed for this request"
TOO_LARGE = "sent more than 1 MiB, the most this request reads"
NOT_IN_TIME = "gave no complete answer within 2 s"
TOKEN = {"access_token": "hostile-access-token", "token_type": "Bearer", "refresh_token": "hostile-refresh-token"}


# --- helpers ---


def configured_entry(server: HostileServer, **kw: Any) -> str:
    """A pre-registered confidential client whose endpoints are the hostile server's (so no discovery)."""
    return remote_entry(
        SERVER,
        server.url("/mcp"),
        client_id=CLIENT_ID,
        secret=True,
        authorization_endpoint=server.url("/authorize"),
        token_endpoint=server.url("/token"),
        scopes=("mcp:tools",),
        **kw,
    )


def discovered_entry(server: HostileServer) -> str:
    """A pre-registered confidential client without endpoints: authorize discovers them at the server."""
    return remote_entry(SERVER, server.url("/mcp"), client_id=CLIENT_ID, secret=True)


def set_up(user: OAuthUser, entry: str) -> None:
    """Import the entry; the client secret comes from the environment variable the entry declares."""
    user.import_server(entry)
    user.plugin.env[SECRET_ENV] = PLANTED_SECRET


def authorize(user: OAuthUser, *extra: str, env: dict[str, str] | None = None) -> tuple[Any, float]:
    """`oauth authorize --open-browser` with the scripted browser (which follows the hostile server's
    redirect to the callback); returns the result and how long it took."""
    if env:
        user.plugin.env.update(env)
    started = time.monotonic()
    r = user.authorize(SERVER, free_port(), *extra)
    return r, time.monotonic() - started


def one_line(r: Any) -> str:
    """stderr without the browser script's and authorize's own warning lines: must be one line."""
    lines = [line for line in r.stderr.strip().splitlines() if not line.startswith(("browser_approve: ", "! "))]
    assert len(lines) == 1, f"not one line:\n{r.stderr}"
    return lines[0]


def assert_nothing_leaked(user: OAuthUser, *values: str) -> None:
    spelled = [s for v in (PLANTED_SECRET, PLANTED_CODE, *values) for s in {v, quote(v, safe=""), quote_plus(v)}]
    user.assert_nothing_leaked(*spelled)


def assert_not_authorized(user: OAuthUser, listed: bool = False) -> None:
    """Nothing in the credential store; with `listed`, `oauth ls --json` agrees (a second or so more)."""
    assert user.stored(SERVER) == (None, None)
    if listed:
        rows = json.loads(user.ok("mcp", "oauth", "ls", "--json"))
        assert [row for row in rows if row["app"] == SERVER and row["authorized"]] == []


def assert_failed(user: OAuthUser, r: Any, *fragments: str, listed: bool = False) -> str:
    """Exit 1, one line naming every fragment, no traceback, nothing stored, nothing leaked."""
    output = r.stdout + r.stderr
    assert r.returncode == 1, output
    assert "Traceback" not in output and "unexpected error" not in output, output
    message = one_line(r)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert_not_authorized(user, listed)
    assert_nothing_leaked(user)
    return message


def assert_untouched(other: HostileServer) -> None:
    assert other.connections == 0 and other.requests == [], f"the other host was reached: {other.requests}"


def assert_hung_up_at_the_deadline(server: HostileServer, path: str) -> None:
    """The client gave up on `path` 2 s (DEADLINE) after sending its request, as the dripping server saw it
    (it notices at its next byte, a second later at most)."""
    [request] = server.received(path)
    give_up = time.monotonic() + 3
    while server.hung_up(path) is None and time.monotonic() < give_up:
        time.sleep(0.05)
    hung_up = server.hung_up(path)
    assert hung_up is not None, f"the client never hung up on {path}"
    assert 1.9 <= hung_up - request.at < 5, f"the client hung up {hung_up - request.at:.1f} s after its request"


# --- redirects are not followed, so the secrets they would carry stay home ---


def test_a_token_endpoint_redirecting_to_another_host_gets_an_error_and_the_host_nothing(oauth_user):
    with HostileServer() as server, HostileServer("127.0.0.2") as other:
        server.authorization_endpoint(code=PLANTED_CODE)
        server.redirect("/token", other.url("/token"))
        set_up(oauth_user, configured_entry(server))
        r, _ = authorize(oauth_user)
        assert len(server.received("/token", "POST")) == 1  # not retried with the secret in the body either
        assert_untouched(other)
    assert_failed(oauth_user, r, f"token endpoint {server.url('/token')} {REDIRECTED}", listed=True)
    assert oauth_user.browser_records()[-1]["ok"] is True


def test_a_registration_endpoint_redirecting_to_another_host_gets_an_error_and_the_host_nothing(oauth_user):
    with HostileServer() as server, HostileServer("127.0.0.2") as other:
        server.protected_resource()
        server.authorization_server_metadata(registration_endpoint=server.url("/register"))
        server.redirect("/register", other.url("/register"))
        oauth_user.import_server(remote_entry(SERVER, server.url("/mcp")))  # no client: DCR
        r, _ = authorize(oauth_user)
        assert len(server.received("/register", "POST")) == 1
        assert_untouched(other)
    assert_failed(oauth_user, r, f"dynamic client registration for {SERVER} failed: {REDIRECTED}", listed=True)
    assert oauth_user.browser_records() == []


def test_a_revocation_endpoint_redirecting_to_another_host_is_not_followed_and_the_token_is_removed(oauth_user):
    with HostileServer() as server, HostileServer("127.0.0.2") as other:
        server.protected_resource()
        server.authorization_server_metadata(revocation_endpoint=server.url("/revoke"))
        server.authorization_endpoint(code=PLANTED_CODE)
        server.json("/token", {**TOKEN, "expires_in": 3600})
        server.redirect("/revoke", other.url("/revoke"))
        set_up(oauth_user, discovered_entry(server))
        r, _ = authorize(oauth_user)
        assert r.returncode == 0, r.stdout + r.stderr
        assert oauth_user.stored(SERVER)[1].access_token == TOKEN["access_token"]

        r = oauth_user.docker("mcp", "oauth", "revoke", SERVER)
        assert len(server.received("/revoke", "POST")) == 1
        assert_untouched(other)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"! Could not revoke at {server.url('/revoke')}: {REDIRECTED}; the local token is removed anyway" in r.stderr
    assert f"OAuth access revoked for {SERVER}" in r.stdout
    assert_not_authorized(oauth_user, listed=True)
    assert_nothing_leaked(oauth_user, TOKEN["access_token"], TOKEN["refresh_token"])


def test_discovery_urls_that_redirect_are_named_in_the_error_and_not_followed(oauth_user):
    with HostileServer() as server, HostileServer("127.0.0.2") as other:
        for path in (
            "/mcp",
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
        ):
            server.redirect(path, other.url(path))
        set_up(oauth_user, discovered_entry(server))
        r, _ = authorize(oauth_user)
        assert_untouched(other)
    message = assert_failed(oauth_user, r, f"no authorization server metadata for {server.base_url}")
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        url = server.url(path)
        assert f"{url}: {REDIRECTED}" in message or f"{url} {REDIRECTED}" in message, message


# --- bodies that never end are cut at the cap ---


def test_endless_authorization_server_metadata_is_cut_at_1_mib(oauth_user):
    path = "/.well-known/oauth-authorization-server"
    with HostileServer() as server:
        server.protected_resource()
        server.endless(path)
        set_up(oauth_user, discovered_entry(server))
        r, seconds = authorize(oauth_user)
        sent, hung_up = server.bytes_sent(path), server.hung_up(path)
    assert_failed(oauth_user, r, f"discovery stopped: {server.url(path)} {TOO_LARGE}")
    assert seconds < 10 and hung_up is not None
    assert 1 << 20 < sent < 16 << 20, f"the server wrote {sent} bytes before the client hung up"


def test_an_endless_token_response_is_cut_at_1_mib(oauth_user):
    with HostileServer() as server:
        server.authorization_endpoint(code=PLANTED_CODE)
        server.endless("/token")
        set_up(oauth_user, configured_entry(server))
        r, seconds = authorize(oauth_user)
        sent, hung_up = server.bytes_sent("/token"), server.hung_up("/token")
    assert_failed(oauth_user, r, f"token endpoint {server.url('/token')} {TOO_LARGE}")
    assert seconds < 10 and hung_up is not None
    assert 1 << 20 < sent < 16 << 20, f"the server wrote {sent} bytes before the client hung up"


# --- one deadline for the whole exchange, however slowly the bytes come ---


def test_authorization_server_metadata_dripping_a_byte_a_second_meets_the_deadline(oauth_user):
    path = "/.well-known/oauth-authorization-server"
    with HostileServer() as server:
        server.protected_resource()
        server.drip(path, json.dumps({"issuer": server.base_url, "padding": "x" * 100}).encode(), stage="body")
        set_up(oauth_user, discovered_entry(server))
        r, seconds = authorize(oauth_user, env=DEADLINE)
        assert_hung_up_at_the_deadline(server, path)
    assert_failed(oauth_user, r, f"discovery stopped: {server.url(path)} {NOT_IN_TIME}")
    assert 2 <= seconds < 10


def test_a_token_endpoint_dripping_its_headers_meets_the_deadline(oauth_user):
    with HostileServer() as server:
        server.authorization_endpoint(code=PLANTED_CODE)
        server.drip("/token", json.dumps(TOKEN).encode(), stage="headers")
        set_up(oauth_user, configured_entry(server))
        r, seconds = authorize(oauth_user, env=DEADLINE)
        assert_hung_up_at_the_deadline(server, "/token")
    assert_failed(oauth_user, r, f"token endpoint {server.url('/token')} {NOT_IN_TIME}")
    assert 2 <= seconds < 10


def test_a_catalog_download_dripping_its_body_meets_the_deadline(oauth_user):
    with HostileServer() as server:
        server.drip("/catalog.yaml", b"name: slow\ntype: server\nimage: mcp/slow\n" + b"#" * 100, stage="body")
        url = server.url("/catalog.yaml")
        started = time.monotonic()
        r = oauth_user.docker("mcp", "catalog", "import", url, env=DEADLINE)
        seconds = time.monotonic() - started
        assert_hung_up_at_the_deadline(server, "/catalog.yaml")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert one_line(r).endswith(f'downloading "{url}": it {NOT_IN_TIME}')
    assert 2 <= seconds < 8
    assert "slow" not in oauth_user.ok("mcp", "catalog", "ls")


# --- IPv6 spellings of private IPv4 addresses ---

EMBEDDED_IPV4 = {  # URL: the host the message names
    "https://[64:ff9b::a9fe:a9fe]/mcp": "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254, the metadata service
    "https://[64:ff9b::7f00:1]/": "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "https://[::127.0.0.1]/": "::127.0.0.1",  # IPv4-compatible 127.0.0.1
    "https://[2002:a9fe:a9fe::1]/": "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
}


def _netns_works() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


needs_netns = pytest.mark.skipif(not _netns_works(), reason="`unshare -n` (a network namespace) is not available")


def without_network(user: OAuthUser, *args: str) -> Any:
    """`docker ARGS` in a network namespace of its own (only a loopback, down): no packet can leave,
    whatever the plugin tries; local testing (DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS) is off."""
    r = subprocess.run(
        ["unshare", "-n", DOCKER, *args],
        env={**user.plugin.env, **NO_INSECURE},
        capture_output=True,
        text=True,
        timeout=60,
    )
    user.outputs += [r.stdout, r.stderr]
    return r


def import_embedded_ipv4_servers(user: OAuthUser) -> list[str]:
    names = [f"embedded-{i}" for i in range(len(EMBEDDED_IPV4))]
    registry = "".join(
        f"  {name}:\n    type: remote\n    remote:\n      url: {url}\n"
        for name, url in zip(names, EMBEDDED_IPV4, strict=True)
    )
    path = user.tmp / "embedded.yaml"
    path.write_text(f"name: embedded\nregistry:\n{registry}")
    user.ok("mcp", "catalog", "import", str(path), env=NO_INSECURE)
    return names


@needs_netns
def test_oauth_refuses_ipv6_spellings_of_private_ipv4_addresses(oauth_user):
    names = import_embedded_ipv4_servers(oauth_user)
    wrong = []
    for name, (url, host) in zip(names, EMBEDDED_IPV4.items(), strict=True):
        r = without_network(oauth_user, "mcp", "oauth", "authorize", name, "--callback-port", str(free_port()))
        expected = f"invalid remote server URL {url}: host '{host}' is not allowed"
        if r.returncode != 1 or r.stderr.strip() != expected or r.stdout.count("\n") > 1:
            wrong.append(f"{url}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    assert wrong == [], "\n".join(wrong)
    assert "Please visit" not in "".join(oauth_user.outputs)


@needs_netns
def test_the_gateway_refuses_remotes_at_ipv6_spellings_of_private_ipv4_addresses(oauth_user):
    names = import_embedded_ipv4_servers(oauth_user)
    r = without_network(oauth_user, "mcp", "gateway", "run", "--servers", ",".join(names), "--dry-run")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr  # every server refused: nothing to serve
    for name, (url, host) in zip(names, EMBEDDED_IPV4.items(), strict=True):
        assert f"! {name}: invalid remote server URL {url}: host '{host}' is not allowed" in r.stderr, r.stderr


# --- what a server says is printed harmlessly, or not at all ---


def test_callback_error_text_with_terminal_escapes_is_one_clean_line(oauth_user):
    with HostileServer() as server:
        server.authorization_endpoint(
            error="access_denied\x1b[31m",
            error_description="\x1b[2Jscreen cleared\x1b]0;pwned\x07 title set\nsecond line\r",
        )
        set_up(oauth_user, configured_entry(server))
        r, _ = authorize(oauth_user)
        assert server.received("/token") == []
    message = assert_failed(oauth_user, r, "access_denied", "screen cleared", "pwned", "second line")
    for text in (r.stdout, r.stderr):
        assert "\x1b" not in text and "\x07" not in text and "\r" not in text, repr(text)
    assert message.index("screen cleared") < message.index("second line")


@pytest.mark.parametrize("into", ["error_description", "error"])
def test_a_token_endpoint_echoing_the_request_never_gets_its_secrets_printed(oauth_user, into):
    with HostileServer() as server:
        server.authorization_endpoint(code=PLANTED_CODE)
        server.echo_error("/token", into=into)
        set_up(oauth_user, configured_entry(server, method="client_secret_post"))
        r, _ = authorize(oauth_user)
        [request] = server.received("/token", "POST")
    body = request.body.decode()
    assert quote_plus(PLANTED_SECRET) in body and quote_plus(PLANTED_CODE) in body  # what the server echoed
    if into == "error":
        assert_failed(oauth_user, r, f"token endpoint {server.url('/token')} refused the request", "not shown")
    else:
        message = assert_failed(oauth_user, r, "token endpoint error: invalid_request")
        assert "code_verifier" not in message and "grant_type" not in message


# --- expires_in the client cannot use, and callback ports that are not ports ---


def test_an_unusable_expires_in_stores_the_token_with_unknown_expiry(oauth_user):
    """1e12 s (past datetime's range), a string, and Infinity (not JSON, but what Python's json writes)."""
    with HostileServer() as server:
        server.authorization_endpoint(code=PLANTED_CODE)
        set_up(oauth_user, configured_entry(server))
        for expires_in in (b"1e12", b'"soon"', b"Infinity"):
            server.json("/token", json.dumps(TOKEN).encode()[:-1] + b', "expires_in": ' + expires_in + b"}")
            r, _ = authorize(oauth_user)
            assert r.returncode == 0, f"expires_in {expires_in!r}: {r.stdout}{r.stderr}"
            assert "Authorization successful! Token stored securely." in r.stdout
            token = oauth_user.stored(SERVER)[1]
            assert token.access_token == TOKEN["access_token"] and token.expiry is None, expires_in
    [row] = json.loads(oauth_user.ok("mcp", "oauth", "ls", "--json"))
    assert row["authorized"] is True and row["expiresAt"] is None
    assert_nothing_leaked(oauth_user, TOKEN["access_token"], TOKEN["refresh_token"])


def test_a_negative_expires_in_stores_an_already_expired_token(oauth_user):
    with HostileServer() as server:
        server.authorization_endpoint(code=PLANTED_CODE)
        server.json("/token", {**TOKEN, "expires_in": -3600})
        set_up(oauth_user, configured_entry(server))
        r, _ = authorize(oauth_user)
    assert r.returncode == 0, r.stdout + r.stderr
    token = oauth_user.stored(SERVER)[1]
    assert token.access_token == TOKEN["access_token"]
    assert token.expiry is not None and abs((token.expiry - datetime.now(UTC)).total_seconds()) < 120
    [row] = json.loads(oauth_user.ok("mcp", "oauth", "ls", "--json"))
    assert row["authorized"] is True and row["expiresAt"] is not None


def test_a_callback_port_that_is_not_a_port_is_a_usage_error(oauth_user):
    with HostileServer() as server:
        set_up(oauth_user, configured_entry(server))
        for port in ("-1", "0", "70000"):
            r = oauth_user.docker("mcp", "oauth", "authorize", SERVER, "--callback-port", port, "--timeout", "1")
            assert r.returncode == 125, f"--callback-port {port}: {r.stdout}{r.stderr}"
            assert r.stdout == ""
            assert f"--callback-port must be a port number from 1 to 65535, not {port}" in r.stderr
            assert "Traceback" not in r.stderr
        assert server.requests == []
    assert_not_authorized(oauth_user)
