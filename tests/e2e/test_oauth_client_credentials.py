"""Machine clients: the client_credentials grant (RFC 6749 §4.4; MCP's io.modelcontextprotocol/
oauth-client-credentials extension, SEP-1046) against oidc-provider, through the docker CLI and the
built plugin. The client authenticates with a secret (client_secret_basic) or with a private_key_jwt
assertion signed by an EC key the test makes (RFC 7523 §2.2); the protected MCP server is the SDK's,
checking every token by introspection. No browser is ever involved: BROWSER points at a command that
would record a visit."""

from __future__ import annotations

import base64
import dataclasses
import json
import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest

from docker_mcp.oauth.tokens import save_token
from tests.e2e.oauth_support import OAuthUser
from tests.helpers.oidc import resource_server_client, start_oidc, token_request
from tests.servers.mcp_remote import RemoteMcpServer

SECRET = "PLANTED-machine-secret-" + secrets.token_hex(8)
NO_BROWSER = {"BROWSER": "false %s"}  # a browser command that would fail: none may be started


def machine_client(**extra: object) -> dict:
    return {
        "client_id": "machine",
        "grant_types": ["client_credentials"],
        "response_types": [],
        "redirect_uris": [],
        "scope": "mcp:tools",
        **extra,
    }


def machine_entry(url: str, *credentials: str, secrets_: tuple[str, ...] = ()) -> str:
    lines = ["name: machine", "type: remote", "remote:", f"  url: {url}", "oauth:", "  credentials:",
             "    clientId: machine", "    grantType: client_credentials"]  # fmt: skip
    lines += [f"    {line}" for line in credentials]
    if secrets_:
        lines += ["secrets:", *(f"  - name: {name}" for name in secrets_)]
    return "\n".join(lines) + "\n"


def ec_key() -> tuple[str, dict]:
    """A fresh EC P-256 key: its PKCS#8 PEM and the public JWK (RFC 7518 §6.2) for the client's jwks."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    numbers = key.public_key().public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()

    return pem.decode(), {"kty": "EC", "crv": "P-256", "x": b64(numbers.x), "y": b64(numbers.y), "use": "sig"}


def token_requests(oidc) -> list[dict]:
    return [e for e in oidc.requests() if e["path"] == "/token" and e["method"] == "POST"]


def tools_json(user: OAuthUser) -> list[str]:
    return sorted(t["name"] for t in json.loads(user.ok("mcp", "tools", "ls", "--format", "json")))


def whoami(user: OAuthUser) -> dict:
    out = user.ok("mcp", "tools", "call", "remote_whoami")
    return json.loads(out[out.index("{") :])


@pytest.fixture
def protected(oauth_user, tmp_path):
    """Start oidc-provider (client_credentials on, access tokens living `ttl` s) with `clients`, and the
    SDK's MCP server it protects; returns (oidc, remote). Both stop at the end of the test."""
    started = []

    def start(clients: list[dict], ttl: int = 3600, methods: tuple[str, ...] = ("client_secret_basic",)):
        remote = RemoteMcpServer(auth="oidc")
        config = {
            "resource": remote.resource,
            "clients": [*clients, resource_server_client()],
            "clientCredentials": True,
            "accessTokenTTL": ttl,
            "tokenEndpointAuthMethods": list(methods),
        }
        oidc = start_oidc(tmp_path, config)
        started.append(oidc)
        remote.issuer, remote.introspection_client = oidc.issuer, resource_server_client()
        remote.start()
        started.append(remote)
        return oidc, remote

    yield start
    for thing in reversed(started):
        thing.stop()


def test_client_secret_basic_gets_the_first_token_on_use_renews_it_and_revokes_without_a_browser(oauth_user, protected):
    oidc, remote = protected(
        [machine_client(client_secret=SECRET, token_endpoint_auth_method="client_secret_basic")], ttl=4
    )
    oauth_user.import_server(
        machine_entry(remote.url, "clientSecret: machine.client_secret", secrets_=("machine.client_secret",))
    )
    oauth_user.ok("mcp", "secret", "set", "machine.client_secret", input=SECRET)

    # enable does not send the user to `oauth authorize`: the token comes on first use
    enabled = oauth_user.ok("mcp", "server", "enable", "machine")
    assert "oauth authorize" not in enabled
    assert "client_credentials grant: its token is fetched on first use" in enabled

    # the first tools command gets the token itself: grant_type=client_credentials, Basic, resource, scope
    assert tools_json(oauth_user) == ["remote_add", "remote_echo", "remote_whoami"]
    (first_request,) = token_requests(oidc)
    assert first_request["auth_scheme"] == "Basic" and first_request["status"] == 200
    assert {"grant_type", "resource", "scope"} <= set(first_request["body_keys"])
    assert "code" not in first_request["body_keys"] and "client_secret" not in first_request["body_keys"]
    assert oidc.count("/auth") == 0 and oidc.count("/reg") == 0
    record, first = oauth_user.stored("machine")
    assert (record.grant_type, record.client_type, record.token_endpoint_auth_method) == (
        "client_credentials", "pre-registered", "client_secret_basic",
    )  # fmt: skip
    assert record.resource_url == remote.resource and first.refresh_token == ""
    with oauth_user.store() as store:  # the stored record names the grant (and never holds the secret)
        stored = json.loads(base64.b64decode(store.get("https://machine.mcp-dcr").secret))
    assert stored["grantType"] == "client_credentials" and stored["clientSecretRef"] == "machine.client_secret"
    assert "clientSecret" not in stored

    # the token is used: the server sees the machine client
    assert whoami(oauth_user)["client_id"] == "machine"

    # expired (it lives 4 s): a new client_credentials request, not a refresh
    _, current = oauth_user.stored("machine")  # the first, or one already renewed 1 s before its end
    time.sleep(max(0.0, (current.expiry - datetime.now(UTC)).total_seconds()) + 0.5)
    before = len(token_requests(oidc))
    assert whoami(oauth_user)["client_id"] == "machine"
    requests_now = token_requests(oidc)
    assert len(requests_now) == before + 1 and requests_now[-1]["status"] == 200
    assert "refresh_token" not in requests_now[-1]["body_keys"] and requests_now[-1]["auth_scheme"] == "Basic"
    _, renewed = oauth_user.stored("machine")
    assert renewed.access_token not in (first.access_token, current.access_token)

    # rejected (revoked at the server while it is good for another hour by our clock): the 401 gets a new
    # token, and the call goes through
    assert token_request(
        oidc.url("/token/revocation"), machine_client(client_secret=SECRET), {"token": renewed.access_token}
    ).ok
    with oauth_user.store() as store:
        later = datetime.now(UTC) + timedelta(hours=1)
        save_token(store, record, dataclasses.replace(renewed, expiry=later, expires_in=3600.0))
    rejected = remote.requests.count(path="/mcp", status=401)
    assert whoami(oauth_user)["client_id"] == "machine"
    assert remote.requests.count(path="/mcp", status=401) == rejected + 1
    _, after_401 = oauth_user.stored("machine")
    assert after_401.access_token != renewed.access_token

    # `oauth authorize` runs the same grant, with no browser and no callback
    out = oauth_user.ok("mcp", "oauth", "authorize", "machine", env=NO_BROWSER)
    assert "Using pre-registered client machine (client_credentials grant: no browser)" in out
    assert "visit" not in out and "callback" not in out
    assert out.rstrip().endswith("Authorization successful! Token stored securely.")
    assert oauth_user.browser_records() == [] and oidc.count("/auth") == 0

    # revoke: at the server (RFC 7009, authenticated as the machine client), then locally
    _, last = oauth_user.stored("machine")
    r = oauth_user.docker("mcp", "oauth", "revoke", "machine")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert [e["status"] for e in oidc.requests() if e["path"] == "/token/revocation"][-1] == 200
    assert oauth_user.stored("machine") == (None, None)
    assert not token_request(
        oidc.url("/token/introspection"), resource_server_client(), {"token": last.access_token}
    ).json()["active"]
    oauth_user.assert_nothing_leaked(SECRET, first.access_token, renewed.access_token, after_401.access_token)


def test_private_key_jwt_signs_an_es256_assertion_with_the_key_from_a_named_secret(oauth_user, protected):
    pem, jwk = ec_key()
    client = machine_client(token_endpoint_auth_method="private_key_jwt", jwks={"keys": [jwk]})
    oidc, remote = protected([client], methods=("client_secret_basic", "private_key_jwt"))
    oauth_user.import_server(
        machine_entry(
            remote.url,
            "tokenEndpointAuthMethod: private_key_jwt",
            "privateKey: machine.private_key",
            "signingAlgorithm: ES256",
            secrets_=("machine.private_key",),
        )
    )
    oauth_user.ok("mcp", "secret", "set", "machine.private_key", input=pem)
    oauth_user.ok("mcp", "server", "enable", "machine")

    # the gateway gets the first token itself, and lists the protected server's tools with it
    r = oauth_user.docker("mcp", "gateway", "run", "--servers", "machine", "--dry-run")
    assert r.returncode == 0 and "> machine: 3 tools: remote_add, remote_echo, remote_whoami" in r.stderr, r.stderr
    (request,) = token_requests(oidc)
    assert request["status"] == 200 and "client_assertion" in request["body_keys"]

    out = oauth_user.ok("mcp", "oauth", "authorize", "machine", env=NO_BROWSER)
    assert "Authorization successful!" in out
    _, request = token_requests(oidc)  # a new assertion (oidc-provider refuses a jti it has seen)
    assert request["status"] == 200 and request["auth_scheme"] is None  # no Basic header: the assertion
    assert {"grant_type", "client_assertion", "client_assertion_type", "resource"} <= set(request["body_keys"])
    assert "client_secret" not in request["body_keys"]
    record, token = oauth_user.stored("machine")
    assert (record.token_endpoint_auth_method, record.token_endpoint_auth_signing_alg) == ("private_key_jwt", "ES256")
    assert whoami(oauth_user)["client_id"] == "machine"

    r = oauth_user.docker("mcp", "oauth", "revoke", "machine")  # authenticated by a fresh assertion
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert [e["status"] for e in oidc.requests() if e["path"] == "/token/revocation"] == [200]
    body = "".join(pem.strip().splitlines()[1:-1])
    oauth_user.assert_nothing_leaked(pem, body[:40], body[-40:], token.access_token)


def test_bad_machine_clients_fail_in_one_line_naming_the_field_or_secret_and_never_show_the_key(oauth_user, protected):
    pem, jwk = ec_key()
    planted_key = "-----BEGIN PRIVATE KEY-----\nPLANTED" + secrets.token_hex(16) + "\n-----END PRIVATE KEY-----"
    oidc, remote = protected(
        [machine_client(token_endpoint_auth_method="private_key_jwt", jwks={"keys": [jwk]})],
        methods=("client_secret_basic", "private_key_jwt"),
    )
    jwt_lines = ("tokenEndpointAuthMethod: private_key_jwt", "privateKey: machine.private_key")

    # import: a key pasted into the catalog, a key secret not declared, a key without private_key_jwt
    path = oauth_user.tmp / "bad.yaml"
    for credentials, declared, field in (
        ((jwt_lines[0], f"privateKey: {json.dumps(planted_key)}"), ("machine.private_key",), "privateKey"),
        (jwt_lines, (), "privateKey"),
        (("privateKey: machine.private_key",), ("machine.private_key",), "privateKey"),
        ((jwt_lines[0],), (), "tokenEndpointAuthMethod"),
        (("clientSecret: machine.client_secret", "redirectUri: http://localhost:3118/callback"),
         ("machine.client_secret",), "redirectUri"),
        ((), (), "grantType"),
    ):  # fmt: skip
        path.write_text(machine_entry(remote.url, *credentials, secrets_=declared))
        r = oauth_user.docker("mcp", "catalog", "import", str(path))
        assert r.returncode == 1 and r.stdout == "", r.stdout
        assert r.stderr.count("\n") == 1 and "bad.yaml:" in r.stderr, r.stderr
        assert f"oauth.credentials.{field}:" in r.stderr, r.stderr
    assert "machine" not in oauth_user.ok("mcp", "catalog", "ls")  # nothing imported

    oauth_user.import_server(machine_entry(remote.url, *jwt_lines, secrets_=("machine.private_key",)))
    oauth_user.ok("mcp", "server", "enable", "machine")

    # the key's secret is not set: named, with the command that sets it
    r = oauth_user.docker("mcp", "oauth", "authorize", "machine", env=NO_BROWSER)
    assert r.returncode == 1
    assert r.stderr.strip() == (
        "secret machine.private_key is not set: run 'docker mcp secret set machine.private_key'"
    ), r.stderr

    # a value that is not a PEM private key: named, never shown (authorize, and the gateway's first token)
    oauth_user.ok("mcp", "secret", "set", "machine.private_key", input=planted_key)
    r = oauth_user.docker("mcp", "oauth", "authorize", "machine", env=NO_BROWSER)
    assert r.returncode == 1
    assert r.stderr.strip() == (
        "the secret machine.private_key does not hold an unencrypted PEM private key (PKCS#8): set it again with "
        "'docker mcp secret set machine.private_key < key.pem'"
    ), r.stderr
    r = oauth_user.docker("mcp", "tools", "ls")
    assert "machine.private_key does not hold an unencrypted PEM private key" in r.stdout + r.stderr
    assert token_requests(oidc) == []

    # a key of another kind than signingAlgorithm says (EC key, RS256 by default)
    oauth_user.ok("mcp", "secret", "set", "machine.private_key", input=pem)
    r = oauth_user.docker("mcp", "oauth", "authorize", "machine", env=NO_BROWSER)
    assert r.returncode == 1 and "machine.private_key cannot sign RS256: set signingAlgorithm" in r.stderr, r.stderr
    assert token_requests(oidc) == []
    body = "".join(pem.strip().splitlines()[1:-1])
    oauth_user.assert_nothing_leaked(planted_key, planted_key.splitlines()[1], pem, body[:40], body[-40:])
