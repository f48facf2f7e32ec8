"""Client ID Metadata Documents (MCP authorization spec 2025-11-25, "Client ID Metadata Documents";
draft-ietf-oauth-client-id-metadata-document) through the real docker CLI: the catalog's
`oauth.clientMetadataUrl` is the client_id wherever the authorization server's RFC 8414 metadata says
`client_id_metadata_document_supported: true` (no registration, a public client), DCR as before where it
does not; a pre-registered `clientId` that is an https URL is such a client. The conformance suite's
auth/basic-cimd runs the first case against the suite's own server.

The server is a tests/servers/hostile.py server on 127.0.0.1 whose authorization endpoint redirects at
once with a code, as the suite's does; it never fetches the document (nor does the suite's)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests.e2e.oauth_support import OAuthUser, free_port, remote_entry
from tests.servers.hostile import HostileServer

SERVER = "cimd-app"
DOCUMENT = "https://app.example.com/oauth/client.json"
TOKEN = {"access_token": "cimd-access-token", "token_type": "Bearer", "expires_in": 3600}


def entry(url: str, metadata_url: str | None = DOCUMENT) -> str:
    lines = [f"name: {SERVER}", "type: remote", "remote:", f"  url: {url}", "oauth:", "  scopes: [mcp:tools]"]
    if metadata_url:
        lines.append(f"  clientMetadataUrl: {metadata_url}")
    return "\n".join(lines) + "\n"


def stand_in(server: HostileServer, *, cimd: bool | None) -> None:
    """RFC 9728 and RFC 8414 metadata (`client_id_metadata_document_supported` as `cimd`; None leaves it
    out) with a registration endpoint, an authorization endpoint that approves at once, a token endpoint."""
    server.protected_resource()
    server.authorization_server_metadata(
        client_id_metadata_document_supported=cimd,
        registration_endpoint=server.url("/register"),
        token_endpoint_auth_methods_supported=["none"],
    )
    server.json("/register", {"client_id": "registered-client", "token_endpoint_auth_method": "none"}, 201)
    server.authorization_endpoint(code="the-code")
    server.json("/token", TOKEN)


def authorize(user: OAuthUser) -> Any:
    return user.authorize(SERVER, free_port())  # the scripted browser follows the redirect to the callback


def token_form(server: HostileServer) -> list[dict[str, str]]:
    return [dict(parse_qsl(r.body.decode())) for r in server.received("/token")]


def test_the_metadata_document_url_is_the_client_id_where_the_server_supports_it(oauth_user):
    with HostileServer() as server:
        stand_in(server, cimd=True)
        oauth_user.import_server(entry(server.url("/mcp")))
        first = authorize(oauth_user)
        second = authorize(oauth_user)
        assert server.received("/register") == []  # nothing registered, either time
        [auth1, auth2] = server.received("/authorize")
        forms = token_form(server)
        headers = [r.headers for r in server.received("/token")]
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert f"Using the client ID metadata document {DOCUMENT} as the client ID" in first.stdout
    assert auth1.query["client_id"] == auth2.query["client_id"] == DOCUMENT
    for form, sent in zip(forms, headers, strict=True):  # a public client: the URL in the body, no secret
        assert form["client_id"] == DOCUMENT and "client_secret" not in form
        assert "Authorization" not in sent
    record, token = oauth_user.stored(SERVER)
    assert (record.client_type, record.client_id, record.token_endpoint_auth_method) == ("cimd", DOCUMENT, "none")
    assert record.authorization_server == server.base_url and not record.client_secret
    assert token.access_token == TOKEN["access_token"]
    listed = json.loads(oauth_user.ok("mcp", "oauth", "ls", "--json"))
    assert [(r["app"], r["clientType"], r["authorized"]) for r in listed] == [(SERVER, "cimd", True)]


@pytest.mark.parametrize("advertised", [False, None], ids=["false", "absent"])
def test_without_the_advertisement_the_client_registers_as_before(oauth_user, advertised):
    with HostileServer() as server:
        stand_in(server, cimd=advertised)
        oauth_user.import_server(entry(server.url("/mcp")))
        r = authorize(oauth_user)
        registrations = server.received("/register")
        [request] = server.received("/authorize")
    assert r.returncode == 0, r.stderr
    assert len(registrations) == 1 and request.query["client_id"] == "registered-client"
    assert oauth_user.stored(SERVER)[0].client_type == "dcr"


def test_a_dcr_client_gives_way_once_the_server_supports_documents(oauth_user):
    """MCP's order: a client ID metadata document before DCR, also when a DCR client is stored."""
    with HostileServer() as server:
        stand_in(server, cimd=None)
        oauth_user.import_server(entry(server.url("/mcp")))
        assert authorize(oauth_user).returncode == 0
        stand_in(server, cimd=True)
        r = authorize(oauth_user)
        [_, second] = server.received("/authorize")
        assert len(server.received("/register")) == 1
    assert r.returncode == 0, r.stderr
    assert second.query["client_id"] == DOCUMENT
    assert oauth_user.stored(SERVER)[0].client_type == "cimd"


def test_a_pre_registered_client_id_that_is_an_https_url_is_a_public_client(oauth_user):
    with HostileServer() as server:
        stand_in(server, cimd=True)
        oauth_user.import_server(remote_entry(SERVER, server.url("/mcp"), client_id=DOCUMENT))
        r = authorize(oauth_user)
        assert server.received("/register") == []
        [form] = token_form(server)
        [request] = server.received("/token")
    assert r.returncode == 0, r.stderr
    assert "Using pre-registered client" in r.stdout
    assert form["client_id"] == DOCUMENT and "client_secret" not in form and "Authorization" not in request.headers


BAD = {
    "plain http": (
        "  clientMetadataUrl: http://app.example.com/client.json",
        "oauth.clientMetadataUrl: must be an https URL",
    ),
    "no path": ("  clientMetadataUrl: https://app.example.com/", "oauth.clientMetadataUrl: must be an https URL"),
    "a fragment": (
        "  clientMetadataUrl: https://app.example.com/c.json#x",
        "oauth.clientMetadataUrl: must be an https URL",
    ),
    "dot segments": ("  clientMetadataUrl: https://app.example.com/a/../c.json", "oauth.clientMetadataUrl: must be"),
    "a space": (
        "  clientMetadataUrl: 'https://app.example.com/c json'",
        "oauth.clientMetadataUrl: must be an https URL",
    ),
    "not a string": (
        "  clientMetadataUrl: [https://app.example.com/c.json]",
        "oauth.clientMetadataUrl: must be a string",
    ),
    "a URL client id with a secret": (
        f'  credentials:\n    clientId: "{DOCUMENT}"\n    clientSecret: {SERVER}.client_secret\n'
        f"secrets:\n  - name: {SERVER}.client_secret",
        "oauth.credentials.clientSecret: a clientId that is an https URL is a client ID metadata document",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_metadata_document_entry_is_one_line_naming_the_field(oauth_user, case):
    text, expected = BAD[case]
    path = oauth_user.tmp / "bad.yaml"
    path.write_text(f"name: {SERVER}\ntype: remote\nremote:\n  url: https://mcp.example.com/mcp\noauth:\n{text}\n")
    r = oauth_user.docker("mcp", "catalog", "import", str(path))
    assert r.returncode == 1, r.stdout + r.stderr
    [line] = r.stderr.strip().splitlines()
    assert line.startswith(f"{path}:") and expected in line, line
    assert "Traceback" not in r.stderr
    assert oauth_user.ok("mcp", "catalog", "ls").count(SERVER) == 0  # nothing imported


def test_catalog_show_keeps_the_metadata_document_url(oauth_user):
    oauth_user.import_server(entry("https://mcp.example.com/mcp"))
    shown = json.loads(oauth_user.ok("mcp", "catalog", "show", SERVER, "--format", "json"))
    assert shown["registry"][SERVER]["oauth"]["clientMetadataUrl"] == DOCUMENT
