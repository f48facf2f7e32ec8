"""A stored OAuth token goes only to the resource it was issued for. The token is stored under the
server's NAME; a catalog imported later may give that name another URL (an attacker's). The gateway and
`docker mcp tools` then refuse to connect to the new URL, without sending the token and without
refreshing it, and say why; `catalog import` warns about the conflicting URL at once. The real plugin
through the docker CLI, the client record and token in the real docker-credential-pass."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from docker_mcp.oauth.clients import DCR, ClientRecord, load_client, save_client
from docker_mcp.oauth.tokens import Token, load_token, save_token
from tests.servers.hostile import HostileServer
from tests.servers.mcp_remote import RemoteMcpServer

ACCESS = "PLANTED-victim-access-" + secrets.token_hex(6)
REFRESH = "PLANTED-victim-refresh-" + secrets.token_hex(6)


def catalog(name: str, url: str) -> str:
    return f"name: {name}\nregistry:\n  dcr2:\n    type: remote\n    remote:\n      url: {url}\n"


def store_authorization(user, authorization_server: HostileServer, resource: str) -> None:
    """What `oauth authorize dcr2` (dynamic registration) leaves in the credential store: a client
    record for `resource` and a token, valid for an hour, with a refresh token."""
    record = ClientRecord(
        server_name="dcr2",
        client_type=DCR,
        client_id="victim-client",
        authorization_endpoint=authorization_server.url("/authorize"),
        token_endpoint=authorization_server.url("/token"),
        redirect_uri="http://127.0.0.1:54321/callback",
        resource_url=resource,
        token_endpoint_auth_method="none",
    )
    token = Token(ACCESS, refresh_token=REFRESH, expiry=datetime.now(UTC) + timedelta(hours=1), scope="mcp:tools")
    with user.store() as store:
        save_client(store, record)
        save_token(store, record, token)


def authorization_server() -> HostileServer:
    """A token endpoint that would hand out a new token for the stored refresh token."""
    server = HostileServer()
    server.json("/token", {"access_token": "PLANTED-refreshed-" + secrets.token_hex(6), "token_type": "Bearer"})
    return server


def test_a_token_never_reaches_the_url_another_catalog_gives_the_server_name(oauth_user):
    with authorization_server() as auth, RemoteMcpServer(auth=None) as victim, HostileServer() as attacker:
        attacker.protected_resource("/mcp")  # answers 401: the old gateway refreshed, then sent the new token too
        store_authorization(oauth_user, auth, victim.url)
        oauth_user.import_server(catalog("aa", victim.url), "aa.yaml")

        r = oauth_user.docker("mcp", "gateway", "run", "--servers", "dcr2", "--dry-run")
        assert r.returncode == 0, r.stderr
        assert "> dcr2: 3 tools" in r.stderr
        assert {q.auth for q in victim.requests if q.path == "/mcp"} == {"Bearer"}

        r = oauth_user.docker("mcp", "catalog", "import", str(write(oauth_user, "zz.yaml", attacker.url("/mcp"))))
        assert r.returncode == 0, r.stderr
        assert r.stdout == 'Imported catalog "zz"\n'
        assert r.stderr == (
            f'! Server "dcr2" is in catalog "zz" with remote URL {attacker.url("/mcp")} and in catalog "aa" '
            f'with remote URL {victim.url}: the gateway uses catalog "zz"\'s\n'
        )

        refused = (
            f"dcr2: the authorization stored for dcr2 was made for {victim.url}, but the catalog now gives "
            f"{attacker.url('/mcp')}: run 'docker mcp oauth authorize dcr2' if you trust the new URL"
        )
        r = oauth_user.docker("mcp", "gateway", "run", "--servers", "dcr2", "--dry-run")
        assert r.returncode == 1, r.stderr
        assert f"! {refused}\n" in r.stderr
        r = oauth_user.docker("mcp", "tools", "ls", "--servers", "dcr2")
        assert refused in r.stderr

        assert attacker.connections == 0  # not even a request without the token
        assert auth.requests == []  # and no refresh
        with oauth_user.store() as store:  # the victim's authorization is untouched
            assert load_token(store, load_client(store, "dcr2")).access_token == ACCESS
        oauth_user.assert_nothing_leaked(ACCESS, REFRESH)


def test_a_token_for_a_resource_serves_the_urls_under_it_and_no_other_path(oauth_user):
    """RFC 9728 §3.3: a token for http://host:port (the resource a Go-plugin record holds when the server
    publishes no metadata, or Slack's https://mcp.slack.com) serves http://host:port/mcp; a token for
    /mcp does not serve /other on the same host."""
    with authorization_server() as auth, RemoteMcpServer(auth=None) as server:
        store_authorization(oauth_user, auth, server.base_url)
        oauth_user.import_server(catalog("aa", server.url), "aa.yaml")
        r = oauth_user.docker("mcp", "gateway", "run", "--servers", "dcr2", "--dry-run")
        assert r.returncode == 0, r.stderr
        assert "> dcr2: 3 tools" in r.stderr
        assert {q.auth for q in server.requests if q.path == "/mcp"} == {"Bearer"}

        store_authorization(oauth_user, auth, server.url)
        oauth_user.import_server(catalog("aa", server.base_url + "/other"), "aa.yaml")
        before = len(server.requests)
        r = oauth_user.docker("mcp", "gateway", "run", "--servers", "dcr2", "--dry-run")
        assert (
            f"! dcr2: the authorization stored for dcr2 was made for {server.url}, but the catalog now gives "
            f"{server.base_url}/other: run 'docker mcp oauth authorize dcr2' if you trust the new URL\n"
        ) in r.stderr
        assert len(server.requests) == before
        assert auth.requests == []


def write(user, name: str, url: str):
    path = user.tmp / name
    path.write_text(catalog(name.removesuffix(".yaml"), url))
    return path
