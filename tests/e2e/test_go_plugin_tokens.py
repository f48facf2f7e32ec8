"""Issue 17, item 5: OAuth tokens Docker's Go plugin wrote are used, and refreshed, by ours.

The Go plugin keeps a DCR client record and its token in the credential helper (docker/mcp-gateway@2bd20fe8):
- pkg/oauth/dcr/credentials.go:58-77 (SaveClient): key `https://<server>.mcp-dcr`, username `dcr_client`,
  secret base64(json.Marshal(Client)), the Client struct at lines 22-36 (field order as declared, `omitempty`
  on all but providerName, registeredAt and serverName; registeredAt a time.Time);
- pkg/oauth/token_store.go:25-47 (TokenStore.Save): key `<authorizationEndpoint>/<providerName>`, username
  `oauth2_<providerName>`, secret base64(json.Marshal(oauth2.Token)): vendor/golang.org/x/oauth2/token.go:34-57
  gives `access_token`, `token_type`, `refresh_token`, `expiry` (a time.Time: RFC 3339 with nanoseconds and
  the local offset; the zero time `0001-01-01T00:00:00Z` when the server gave no lifetime, as `omitempty` does
  not leave a struct out) and `expires_in` (int64, left out when 0).

A real authorization server (oidc-provider, DCR on, public clients), a protected MCP server that checks
tokens by introspection, a real docker-credential-pass store, and our plugin run by the docker CLI. The
record and token our own `oauth authorize` stored are rewritten byte for byte as the Go code writes them;
then the gateway uses them: an expired Go token is refreshed (and what we store back is still a token Go
decodes), a token whose expiry Go did not know is used as it is.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.oauth_support import OAuthUser, free_port, remote_entry
from tests.helpers.oidc import resource_server_client, start_oidc
from tests.servers.mcp_remote import RemoteMcpServer

SERVER = "go-authorized"
# golang.org/x/oauth2 Token's JSON names and Go's types for them (token.go:34-57); `scope` is not a field of
# the struct, but Go's decoder ignores unknown names, so a token we write may carry more.
GO_TOKEN_FIELDS = {"access_token": str, "token_type": str, "refresh_token": str, "expiry": str, "expires_in": int}


def go_time(moment: datetime) -> str:
    """time.Time.MarshalJSON: RFC 3339 with nanoseconds (trailing zeros dropped) in the process's zone
    (UTC here, written `Z`)."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    nanos = f"{moment.microsecond * 1000:09d}".rstrip("0")
    return text + (f".{nanos}" if nanos else "") + "Z"


def go_client_json(record: Any) -> bytes:
    """json.Marshal(dcr.Client{...}) as pkg/oauth/dcr/manager.go:92-104 (DiscoverAndRegister) fills it:
    Go's compact encoding, fields in declaration order (credentials.go:22-36), empty `omitempty` ones left out."""
    fields: list[tuple[str, Any, bool]] = [
        ("authorizationEndpoint", record.authorization_endpoint, True),
        ("authorizationServer", "", True),  # DiscoverAndRegister does not set it
        ("clientId", record.client_id, True),
        ("clientName", f"MCP Gateway - {SERVER}", True),
        ("providerName", SERVER, False),
        ("redirectUri", "https://mcp.docker.com/oauth/callback", True),
        ("registeredAt", go_time(datetime.now(UTC) - timedelta(days=3)), False),
        ("requiredScopes", list(record.scopes), True),
        ("resourceUrl", record.resource_url, True),
        ("scopesSupported", list(record.scopes_supported), True),
        ("serverName", SERVER, False),
        ("tokenEndpoint", record.token_endpoint, True),
    ]
    data = {k: v for k, v, omitempty in fields if v or not omitempty}
    return json.dumps(data, separators=(",", ":")).encode()


def go_token_json(access: str, refresh: str, expiry: datetime | None, expires_in: int) -> bytes:
    data: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "refresh_token": refresh}
    data["expiry"] = go_time(expiry) if expiry else "0001-01-01T00:00:00Z"
    if expires_in:
        data["expires_in"] = expires_in
    return json.dumps(data, separators=(",", ":")).encode()


def write_as_go(user: OAuthUser, client: bytes, token: bytes, authorization_endpoint: str) -> None:
    """The two credential-helper entries, stored as the Go plugin stores them (through docker-py's helper
    client, which speaks the same `store` protocol as docker-credential-helpers' client.Store)."""
    with user.store() as store:
        store.put(f"https://{SERVER}.mcp-dcr", "dcr_client", base64.b64encode(client).decode())
        store.put(f"{authorization_endpoint}/{SERVER}", f"oauth2_{SERVER}", base64.b64encode(token).decode())


def raw_token(user: OAuthUser, authorization_endpoint: str) -> dict[str, Any]:
    with user.store() as store:
        found = store.get(f"{authorization_endpoint}/{SERVER}")
    assert found is not None and found.username == f"oauth2_{SERVER}"
    data = json.loads(base64.b64decode(found.secret))
    assert isinstance(data, dict)
    return data


def assert_go_decodes(data: dict[str, Any]) -> None:
    """What encoding/json into oauth2.Token needs: each known name with Go's type; expiry parses as RFC 3339."""
    for name, kind in GO_TOKEN_FIELDS.items():
        if name in data:
            assert isinstance(data[name], kind) and not isinstance(data[name], bool), (name, data[name])
    assert data["access_token"]
    datetime.fromisoformat(data["expiry"].replace("Z", "+00:00"))


def refreshes(oidc: Any) -> int:
    """Token requests (not introspection at /token/introspection)."""
    return sum(1 for entry in oidc.requests() if entry["path"] == "/token" and entry["method"] == "POST")


def dry_run(user: OAuthUser) -> Any:
    return user.docker("mcp", "gateway", "run", "--servers", SERVER, "--dry-run")


def test_tokens_the_go_plugin_wrote_are_used_and_an_expired_one_is_refreshed(oauth_user, tmp_path):
    port = free_port()
    remote = RemoteMcpServer(auth="oidc")
    config = {"resource": remote.resource, "clients": [resource_server_client()], "registration": True}
    with start_oidc(tmp_path, config) as oidc:
        remote.issuer, remote.introspection_client = oidc.issuer, resource_server_client()
        with remote:
            oauth_user.import_server(remote_entry(SERVER, remote.url))
            oauth_user.ok("mcp", "server", "enable", SERVER)
            assert oauth_user.authorize(SERVER, port).returncode == 0
            record, ours = oauth_user.stored(SERVER)
            assert record.client_type == "dcr" and record.token_endpoint_auth_method == "none"
            endpoint = record.authorization_endpoint

            # 1. an expired token, with the lifetime the token endpoint gave (golang.org/x/oauth2 keeps it)
            expired = datetime.now(UTC) - timedelta(minutes=5)
            write_as_go(
                oauth_user,
                go_client_json(record),
                go_token_json(ours.access_token, ours.refresh_token, expired, 3600),
                endpoint,
            )
            r = oauth_user.docker("mcp", "oauth", "ls", "--json")
            assert r.returncode == 0, r.stderr
            assert [s["authorized"] for s in json.loads(r.stdout) if s["app"] == SERVER] == [True]
            r = dry_run(oauth_user)
            assert r.returncode == 0, r.stderr
            assert f"> {SERVER}: 3 tools" in r.stderr
            refreshed = raw_token(oauth_user, endpoint)
            assert refreshed["access_token"] != ours.access_token  # refreshed with the Go client record
            assert datetime.fromisoformat(refreshed["expiry"].replace("Z", "+00:00")) > datetime.now(UTC)
            assert_go_decodes(refreshed)
            # the Go record is still the one the Go plugin wrote: the same client, found by the same key
            again, _ = oauth_user.stored(SERVER)
            assert again.client_id == record.client_id

            # 2. Go's zero time: the expiry is not known, so the token is used as it is (no refresh)
            _, current = oauth_user.stored(SERVER)
            write_as_go(
                oauth_user,
                go_client_json(record),
                go_token_json(current.access_token, current.refresh_token, None, 0),
                endpoint,
            )
            before = refreshes(oidc)
            r = dry_run(oauth_user)
            assert r.returncode == 0, r.stderr
            assert f"> {SERVER}: 3 tools" in r.stderr
            assert refreshes(oidc) == before
            kept = raw_token(oauth_user, endpoint)
            assert kept["access_token"] == current.access_token and kept["expiry"] == "0001-01-01T00:00:00Z"

            # 3. Go refreshes 10 s before expiry (x/oauth2 defaultExpiryDelta), we at most 60 s, a quarter of
            # the lifetime: a Go token with 30 s left of an hour is refreshed before we use it
            _, current = oauth_user.stored(SERVER)
            soon = datetime.now(UTC) + timedelta(seconds=30)
            write_as_go(
                oauth_user,
                go_client_json(record),
                go_token_json(current.access_token, current.refresh_token, soon, 3600),
                endpoint,
            )
            r = dry_run(oauth_user)
            assert r.returncode == 0, r.stderr
            assert refreshes(oidc) == before + 1
            assert_go_decodes(raw_token(oauth_user, endpoint))

            oauth_user.assert_nothing_leaked(ours.access_token, ours.refresh_token, current.refresh_token)
