"""Issue 17, item 2: one DCR client serves our plugin and Docker's Go plugin, which share its record.

Both keep the registered client in the credential helper under `https://<server>.mcp-dcr` (username
`dcr_client`, base64 JSON) and its token under `<authorizationEndpoint>/<server>`. The Go plugin, in CE
mode, registers with the redirect URI https://mcp.docker.com/oauth/callback, reuses ANY stored record
with a clientId and always authorizes with that redirect URI (docker/mcp-gateway@2bd20fe8):
- pkg/oauth/manager.go:16 (DefaultRedirectURI), :43-55 (EnsureDCRClient), :72 and :146 (NewDCRProvider
  with m.redirectURI, not the record's);
- pkg/oauthdiscovery/discovery.go:166-179 (PerformDCR's registration body), sent as json.Marshal of
  vendor/github.com/docker/mcp-gateway-oauth-helpers/types.go:88-101 (DCRRequest, fields in that order);
- pkg/oauth/dcr/manager.go:91-103 (the Client DiscoverAndRegister fills), pkg/oauth/dcr/credentials.go:23-36
  (the Client struct) and :57-77 (SaveClient: json.Marshal, base64.StdEncoding, key, username);
- pkg/oauth/token_store.go:29-54 (TokenStore.Save: json.Marshal(oauth2.Token) under
  `<authorizationEndpoint>/<providerName>`, username `oauth2_<providerName>`), the token's JSON names in
  vendor/golang.org/x/oauth2/token.go:34-57.

Against oidc-provider with dynamic registration on, a real docker-credential-pass store, and our plugin run
by the docker CLI: a client the Go plugin registered (its redirect URI only) is replaced by ONE client that
lists both redirect URIs, stored with its token as a pair the Go plugin can use; oidc-provider then takes
an authorization request for it with the Go plugin's redirect URI; and no later authorize, by either
plugin's record, registers again.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from docker_mcp.oauth.clients import DCR, ClientRecord, load_client, save_client
from tests.e2e.oauth_support import OAuthUser, free_port, remote_entry
from tests.helpers.oidc import OidcServer, pkce_pair, start_oidc, token_request
from tests.servers.protected_resource import ProtectedResource
from tests.unit.test_oauth_pieces import MemoryStore

SERVER = "shared-dcr"
GO_REDIRECT_URI = "https://mcp.docker.com/oauth/callback"  # pkg/oauth/manager.go:16
# The Go Client struct's JSON names and Go types (pkg/oauth/dcr/credentials.go:23-36): what a record we
# write must keep for Go's encoding/json to decode it; `registeredAt` is a time.Time (RFC 3339)
GO_CLIENT_FIELDS: dict[str, type] = {
    "authorizationEndpoint": str,
    "authorizationServer": str,
    "clientId": str,
    "clientName": str,
    "providerName": str,
    "redirectUri": str,
    "registeredAt": str,
    "requiredScopes": list,
    "resourceUrl": str,
    "scopesSupported": list,
    "serverName": str,
    "tokenEndpoint": str,
}
# time.Time.UnmarshalJSON (Go 1.20+, parseStrictRFC3339): RFC 3339 with a two-digit offset or Z
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def go_json(fields: list[tuple[str, Any, bool]]) -> bytes:
    """json.Marshal of a Go struct: compact, fields in declaration order, an empty `omitempty` one left out
    (the values here are ASCII without <, > or &, which Go would escape)."""
    return json.dumps({k: v for k, v, omitempty in fields if v or not omitempty}, separators=(",", ":")).encode()


def go_time(moment: datetime) -> str:
    """time.Time.MarshalJSON (RFC3339Nano, trailing zeros dropped), in UTC."""
    moment = moment.astimezone(UTC)
    nanos = f"{moment.microsecond * 1000:09d}".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{nanos}" if nanos else "") + "Z"


def go_register(oidc: OidcServer) -> str:
    """PerformDCR's request (discovery.go:166-179, DCRRequest's field order), over HTTP: the client_id."""
    body = go_json(
        [
            ("client_name", f"MCP Gateway - {SERVER}", False),
            ("redirect_uris", [GO_REDIRECT_URI], False),
            ("token_endpoint_auth_method", "none", False),
            ("grant_types", ["authorization_code", "refresh_token"], False),
            ("response_types", ["code"], False),
            ("scope", "mcp:tools", True),
            ("client_uri", "https://github.com/docker/mcp-gateway", True),
            ("software_id", "mcp-gateway", True),
            ("software_version", "1.0.0", True),
            ("contacts", ["support@docker.com"], True),
        ]
    )
    headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "MCP-Gateway/1.0.0"}
    response = requests.post(oidc.metadata()["registration_endpoint"], data=body, headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    client_id: str = response.json()["client_id"]
    return client_id


def go_client_record(oidc: OidcServer, client_id: str, resource: str) -> bytes:
    """The record SaveClient writes (credentials.go:57-77) for the Client DiscoverAndRegister fills
    (dcr/manager.go:91-103): json.Marshal of the struct at credentials.go:23-36."""
    metadata = oidc.metadata()
    return go_json(
        [
            ("authorizationEndpoint", metadata["authorization_endpoint"], True),
            ("authorizationServer", "", True),  # DiscoverAndRegister leaves it unset
            ("clientId", client_id, True),
            ("clientName", f"MCP Gateway - {SERVER}", True),
            ("providerName", SERVER, False),
            ("redirectUri", GO_REDIRECT_URI, True),
            ("registeredAt", go_time(datetime.now(UTC) - timedelta(days=2)), False),
            ("requiredScopes", ["mcp:tools"], True),
            ("resourceUrl", resource, True),
            ("scopesSupported", metadata.get("scopes_supported", []), True),
            ("serverName", SERVER, False),
            ("tokenEndpoint", metadata["token_endpoint"], True),
        ]
    )


def go_token(tokens: dict[str, Any]) -> bytes:
    """json.Marshal(oauth2.Token) as TokenStore.Save writes it (token_store.go:29-54; token.go:34-57)."""
    expiry = datetime.now(UTC) + timedelta(seconds=int(tokens["expires_in"]))
    return go_json(
        [
            ("access_token", tokens["access_token"], False),
            ("token_type", tokens["token_type"], True),
            ("refresh_token", tokens.get("refresh_token", ""), True),
            ("expiry", go_time(expiry), False),
            ("expires_in", int(tokens["expires_in"]), True),
        ]
    )


def go_authorizes(oidc: OidcServer, client_id: str) -> dict[str, Any]:
    """The Go plugin's authorization code flow for a stored client: its redirect URI whatever the record
    says, public client (manager.go:60-178); the browser step by the scripted user agent, the code taken
    from the redirect to https://mcp.docker.com without following it. The token response."""
    client = {"client_id": client_id, "token_endpoint_auth_method": "none", "redirect_uris": [GO_REDIRECT_URI]}
    return oidc.get_tokens(client)


def write_as_go(user: OAuthUser, record: bytes | None, token: bytes, authorization_endpoint: str) -> None:
    """The Go plugin's credential-helper entries (credentials.go:63-69, token_store.go:37-46): the client
    record (None: left as it is, as EnsureDCRClient does with a stored client) and the token."""
    with user.store() as store:
        if record is not None:
            store.put(f"https://{SERVER}.mcp-dcr", "dcr_client", base64.b64encode(record).decode())
        store.put(f"{authorization_endpoint}/{SERVER}", f"oauth2_{SERVER}", base64.b64encode(token).decode())


def raw_entries(user: OAuthUser, authorization_endpoint: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The client record and token JSON as the Go plugin's RetrieveClient and TokenStore.Retrieve read them:
    the record at its key, the token at `<the record's authorizationEndpoint>/<its providerName>`."""
    with user.store() as store:
        found = store.get(f"https://{SERVER}.mcp-dcr")
        assert found is not None and found.username == "dcr_client"
        record = json.loads(base64.b64decode(found.secret, validate=True))
        assert record["authorizationEndpoint"] == authorization_endpoint
        key = f"{record['authorizationEndpoint']}/{record['providerName']}"
        token = store.get(key)
        assert token is None or token.username == f"oauth2_{record['providerName']}"
    return record, json.loads(base64.b64decode(token.secret, validate=True)) if token else None


def assert_go_decodes_client(record: dict[str, Any]) -> None:
    """What encoding/json into dcr.Client needs: Go's names with Go's types; registeredAt RFC 3339; and no
    key of ours that Go would take for one of its own (it matches names ignoring case)."""
    for name, kind in GO_CLIENT_FIELDS.items():
        if name in record:
            assert isinstance(record[name], kind), (name, record[name])
            if kind is list:
                assert all(isinstance(v, str) for v in record[name]), (name, record[name])
    assert RFC3339.fullmatch(record["registeredAt"]), record["registeredAt"]
    go_names = {n.lower(): n for n in GO_CLIENT_FIELDS}
    assert all(go_names.get(k.lower(), k) == k for k in record), sorted(record)


def authorization_answer(oidc: OidcServer, client_id: str, redirect_uri: str) -> requests.Response:
    """GET the authorization endpoint as the Go plugin's BuildAuthorizationURL builds the request
    (manager.go:101-120: PKCE S256, access_type=offline, resource), redirects not followed: oidc-provider
    answers 303 to its login interaction when it takes the client and redirect URI, 400 when not."""
    _, challenge = pkce_pair()
    url = oidc.authorization_url(
        client_id, redirect_uri, code_challenge=challenge, state=secrets.token_urlsafe(16), access_type="offline"
    )
    return requests.get(url, allow_redirects=False, timeout=10)


def registrations(oidc: OidcServer) -> int:
    return oidc.count("/reg", method="POST")


def start(tmp_path: Any, resource: ProtectedResource) -> OidcServer:
    oidc = start_oidc(tmp_path, {"resource": resource.url, "registration": True})
    resource.authorization_server = oidc.issuer
    return oidc


def test_a_go_registered_client_is_replaced_by_one_that_serves_both_plugins_and_is_then_reused(oauth_user, tmp_path):
    port = free_port()
    ours = f"http://127.0.0.1:{port}/callback"
    with ProtectedResource() as resource, start(tmp_path, resource) as oidc:
        endpoint = oidc.metadata()["authorization_endpoint"]
        oauth_user.import_server(remote_entry(SERVER, resource.url))
        go_client = go_register(oidc)
        go_tokens = go_authorizes(oidc, go_client)
        write_as_go(oauth_user, go_client_record(oidc, go_client, resource.url), go_token(go_tokens), endpoint)
        assert registrations(oidc) == 1
        assert authorization_answer(oidc, go_client, ours).status_code == 400  # the Go client: its URI only

        # a) our authorize registers ONE client listing both redirect URIs, and stores it with its token
        r = oauth_user.authorize(SERVER, port)
        assert r.returncode == 0, r.stdout + r.stderr
        assert (
            "Registering a client that serves both this plugin and Docker's Go plugin (the stored one accepts "
            f"only {GO_REDIRECT_URI})"
        ) in r.stdout
        assert registrations(oidc) == 2
        record, token = oauth_user.stored(SERVER)
        assert record.client_type == DCR and record.client_id != go_client
        assert record.redirect_uris == (ours, GO_REDIRECT_URI) and record.redirect_uri == ours
        assert token.access_token and token.access_token != go_tokens["access_token"]

        # the pair as the Go plugin reads it: our client, and the token issued to it under Go's key
        raw_record, raw_token = raw_entries(oauth_user, endpoint)
        assert_go_decodes_client(raw_record)
        assert raw_record["clientId"] == record.client_id and raw_record["redirectUris"] == [ours, GO_REDIRECT_URI]
        assert raw_token is not None and raw_token["access_token"] == token.access_token
        refreshed = token_request(
            oidc.url("/token"),
            {"client_id": raw_record["clientId"], "token_endpoint_auth_method": "none"},
            {"grant_type": "refresh_token", "refresh_token": raw_token["refresh_token"], "resource": resource.url},
        )
        assert refreshed.status_code == 200, refreshed.text  # the Go plugin refreshes it with the stored client

        # oidc-provider takes the Go plugin's authorization request for the new client
        accepted = authorization_answer(oidc, record.client_id, GO_REDIRECT_URI)
        assert accepted.status_code == 303, accepted.text
        assert "/interaction/" in accepted.headers["Location"]
        assert authorization_answer(oidc, record.client_id, "https://elsewhere.example/callback").status_code == 400

        # b) a second authorize by us reuses it
        r = oauth_user.authorize(SERVER, port)
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"Using the registered client {record.client_id}" in r.stdout
        assert registrations(oidc) == 2
        assert oauth_user.stored(SERVER)[0].client_id == record.client_id

        # the Go plugin authorizes with the stored (our) client and its redirect URI, and stores its token;
        # it registers nothing (EnsureDCRClient), and neither do we after it
        go_again = go_authorizes(oidc, record.client_id)
        write_as_go(oauth_user, None, go_token(go_again), endpoint)
        r = oauth_user.authorize(SERVER, port)
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"Using the registered client {record.client_id}" in r.stdout
        assert registrations(oidc) == 2
        final, final_token = oauth_user.stored(SERVER)
        assert final.client_id == record.client_id and final.redirect_uris == (ours, GO_REDIRECT_URI)
        assert final_token.access_token not in (go_again["access_token"], token.access_token)
    oauth_user.assert_nothing_leaked(
        go_tokens["access_token"], go_tokens["refresh_token"], token.access_token, token.refresh_token,
        go_again["access_token"], final_token.access_token,
    )  # fmt: skip


def test_an_authorize_that_fails_leaves_the_go_plugins_client_and_token_as_they_were(oauth_user, tmp_path):
    """The new client is stored only with its own token: a failed authorize (the user said no) keeps the Go
    plugin's record and token a pair it can still refresh, byte for byte as it wrote them."""
    port = free_port()
    with ProtectedResource() as resource, start(tmp_path, resource) as oidc:
        endpoint = oidc.metadata()["authorization_endpoint"]
        oauth_user.import_server(remote_entry(SERVER, resource.url))
        go_client = go_register(oidc)
        go_tokens = go_authorizes(oidc, go_client)
        record_bytes, token_bytes = go_client_record(oidc, go_client, resource.url), go_token(go_tokens)
        write_as_go(oauth_user, record_bytes, token_bytes, endpoint)

        r = oauth_user.authorize(SERVER, port, action="deny")
        assert r.returncode == 1 and "access_denied" in r.stderr, r.stdout + r.stderr
        assert registrations(oidc) == 2  # the new client was registered, and is not stored
        with oauth_user.store() as store:
            assert base64.b64decode(store.get(f"https://{SERVER}.mcp-dcr").secret) == record_bytes
            assert base64.b64decode(store.get(f"{endpoint}/{SERVER}").secret) == token_bytes
        refreshed = token_request(
            oidc.url("/token"),
            {"client_id": go_client, "token_endpoint_auth_method": "none"},
            {"grant_type": "refresh_token", "refresh_token": go_tokens["refresh_token"], "resource": resource.url},
        )
        assert refreshed.status_code == 200, refreshed.text

        r = oauth_user.authorize(SERVER, port)  # and the next one that succeeds replaces the pair
        assert r.returncode == 0, r.stdout + r.stderr
        record, token = oauth_user.stored(SERVER)
        assert record.client_id != go_client and record.redirect_uris == (
            f"http://127.0.0.1:{port}/callback",
            GO_REDIRECT_URI,
        )
        assert token.access_token and raw_entries(oauth_user, endpoint)[1]["access_token"] == token.access_token


# --- c) the record: the list of redirect URIs, and Go's record without one ---


def test_a_record_with_redirect_uris_round_trips_and_keeps_go_types():
    store = MemoryStore()
    record = ClientRecord(
        server_name=SERVER,
        client_type=DCR,
        client_id="both",
        client_name=f"docker-mcp - {SERVER}",
        authorization_endpoint="https://as.example/auth",
        token_endpoint="https://as.example/token",
        redirect_uri="http://127.0.0.1:54321/callback",
        redirect_uris=("http://127.0.0.1:54321/callback", GO_REDIRECT_URI),
        resource_url="https://mcp.example/mcp",
        scopes=("mcp:tools",),
        registered_at=datetime.now().astimezone().isoformat(),
    )
    save_client(store, record)
    assert load_client(store, SERVER) == record
    stored = json.loads(base64.b64decode(store.get(f"https://{SERVER}.mcp-dcr").secret))
    assert stored["redirectUri"] == "http://127.0.0.1:54321/callback"
    assert stored["redirectUris"] == ["http://127.0.0.1:54321/callback", GO_REDIRECT_URI]
    assert_go_decodes_client(stored)
    assert record.accepts_redirect_uri(GO_REDIRECT_URI) and not record.accepts_redirect_uri("http://[::1]:1/callback")


def test_a_go_record_without_redirect_uris_reads_as_a_list_of_its_one_redirect_uri():
    store = MemoryStore()
    go_record = go_json(
        [
            ("authorizationEndpoint", "https://as.example/auth", True),
            ("clientId", "go-client", True),
            ("clientName", f"MCP Gateway - {SERVER}", True),
            ("providerName", SERVER, False),
            ("redirectUri", GO_REDIRECT_URI, True),
            ("registeredAt", "2026-07-20T08:01:02.123456789Z", False),
            ("requiredScopes", ["mcp:tools"], True),
            ("resourceUrl", "https://mcp.example/mcp", True),
            ("serverName", SERVER, False),
            ("tokenEndpoint", "https://as.example/token", True),
        ]
    )
    store.put(f"https://{SERVER}.mcp-dcr", "dcr_client", base64.b64encode(go_record).decode())
    record = load_client(store, SERVER)
    assert record is not None and record.client_type == DCR and record.client_id == "go-client"
    assert record.redirect_uri == GO_REDIRECT_URI and record.redirect_uris == (GO_REDIRECT_URI,)
    assert record.accepts_redirect_uri(GO_REDIRECT_URI)
    assert not record.accepts_redirect_uri("http://127.0.0.1:54321/callback")
    assert record.registered_at == "2026-07-20T08:01:02.123456789Z"  # Go's time kept as it wrote it
