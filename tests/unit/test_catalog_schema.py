from __future__ import annotations

import textwrap

import pytest

from docker_mcp.catalog.schema import CatalogError, is_single_server, parse_document
from docker_mcp.catalog.yamldoc import DocumentError, load
from tests.conftest import SLACK_EXAMPLE

SLACK = SLACK_EXAMPLE


def parse(text: str, source: str = "server.yaml"):
    text = textwrap.dedent(text)
    return parse_document(load(text, source), source)


REMOTE = """\
name: slack-official
type: remote
remote:
  url: https://mcp.slack.com/mcp
secrets:
  - name: slack-official.client_secret
    env: SLACK_CLIENT_SECRET
oauth:
  credentials:
"""


def creds(*lines: str) -> str:
    return REMOTE + "".join(f"    {line}\n" for line in lines)


def error_of(text: str, source: str = "server.yaml") -> str:
    with pytest.raises(CatalogError) as e:
        parse(text, source)
    return str(e.value)


def test_the_slack_example_parses_into_a_pre_registered_client():
    with open(SLACK, encoding="utf-8") as f:
        catalog = parse_document(load(f.read(), SLACK), SLACK)
    assert catalog.name == "slack-official"
    assert catalog.display_name == "Slack (Official MCP)"
    server = catalog.servers["slack-official"]
    assert server.type == "remote" and server.remote.url == "https://mcp.slack.com/mcp"
    assert server.oauth is not None
    assert server.oauth.scopes == ("search:read.public", "chat:write", "channels:history")
    c = server.oauth.credentials
    assert c is not None
    assert c.client_id == "your-slack-app-client-id"
    assert c.client_secret == "slack-official.client_secret"
    assert c.authorization_endpoint == "https://slack.com/oauth/v2_user/authorize"
    assert c.token_endpoint == "https://slack.com/api/oauth.v2.user.access"
    assert c.redirect_uri is None and c.token_endpoint_auth_method is None
    assert server.secret("slack-official.client_secret").env == "SLACK_CLIENT_SECRET"


def test_single_server_detection():
    assert is_single_server({"name": "x", "type": "server"})
    assert is_single_server({"name": "x", "remote": {}})
    assert not is_single_server({"name": "x", "registry": {}, "image": "i"})
    assert not is_single_server({"name": "x", "displayName": "X"})


def test_a_catalog_with_several_servers():
    catalog = parse(
        """\
        name: team
        displayName: Team servers
        unknownKey: kept for raw copies
        registry:
          time:
            type: server
            image: mcp-time:test
            longLived: true
            command: ["--local-timezone=UTC", 8080]
            env:
              - name: PORT
                value: 8080
            config:
              - name: time
                type: object
                properties:
                  zone: {type: string}
          remote-one:
            type: remote
            remote: {url: "https://example.com/mcp", transport_type: sse, headers: {X-Key: "${KEY}"}}
        """,
        "team.yaml",
    )
    assert catalog.name == "team" and catalog.display_name == "Team servers"
    time = catalog.servers["time"]
    assert time.long_lived and time.command == ("--local-timezone=UTC", "8080")
    assert time.env[0].value == "8080"
    assert catalog.servers["remote-one"].remote.headers == {"X-Key": "${KEY}"}


def test_client_id_missing_points_at_the_credentials_block():
    assert error_of(creds("clientSecret: slack-official.client_secret")).startswith(
        "server.yaml:10:5: oauth.credentials.clientId: must be a non-empty string"
    )


def test_client_id_empty_is_refused_at_its_line_and_column():
    message = error_of(creds('clientId: ""'))
    assert message == "server.yaml:10:15: oauth.credentials.clientId: must be a non-empty string"


def test_an_unquoted_numeric_client_id_says_to_quote_it():
    assert "quote it" in error_of(creds("clientId: 1601185624273.8899143856786"))


def test_a_literal_secret_value_is_refused_without_echoing_it():
    message = error_of(creds("clientId: abc", "clientSecret: xoxb-PLANTED-SECRET-value"))
    assert "xoxb-PLANTED-SECRET-value" not in message
    assert message.startswith("server.yaml:11:19: oauth.credentials.clientSecret: must be the name of a secret")
    assert "docker mcp secret set slack-official.client_secret" in message


def test_credentials_need_a_remote_server_with_a_url():
    text = "name: local\ntype: server\nimage: x\noauth:\n  credentials:\n    clientId: abc\n"
    assert "needs a `type: remote` server with a `remote.url`" in error_of(text)
    text = "name: r\ntype: remote\noauth:\n  credentials:\n    clientId: abc\n"
    assert "needs a `type: remote` server with a `remote.url`" in error_of(text)


@pytest.mark.parametrize("key", ["authorizationEndpoint", "tokenEndpoint"])
def test_endpoints_must_be_https(key, monkeypatch):
    monkeypatch.delenv("DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS", raising=False)
    text = creds("clientId: abc", f"{key}: http://127.0.0.1:9000/x")
    assert f"oauth.credentials.{key}: must be an absolute https URL" in error_of(text)
    monkeypatch.setenv("DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS", "1")
    parse(text)
    assert "https" in error_of(creds("clientId: abc", f"{key}: /relative/path"))


@pytest.mark.parametrize(
    "uri,fragment",
    [
        ("https://localhost:3118/callback", "must be an http URL on a loopback host"),
        ("http://example.com:3118/callback", "must be an http URL on a loopback host"),
        ("http://localhost/callback", "needs an explicit port"),
        ("http://localhost:99999/callback", "has an invalid port: give a number from 1 to 65535"),
        ("http://127.0.0.1:port/callback", "has an invalid port"),
    ],
)
def test_redirect_uri_must_be_loopback_http_with_a_port(uri, fragment):
    assert fragment in error_of(creds("clientId: abc", f"redirectUri: {uri}"))


@pytest.mark.parametrize("uri", ["http://localhost:3118/callback", "http://127.0.0.1:1/cb", "http://[::1]:8080/x"])
def test_loopback_redirect_uris_are_accepted(uri):
    server = parse(creds("clientId: abc", f"redirectUri: {uri}")).servers["slack-official"]
    assert server.oauth.credentials.redirect_uri == uri


def test_auth_method_none_with_a_secret_is_an_error():
    text = creds("clientId: abc", "clientSecret: slack-official.client_secret", "tokenEndpointAuthMethod: none")
    assert "is none (a public client) but clientSecret is set" in error_of(text)


@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic"])
def test_client_secret_methods_need_a_secret(method):
    assert f"{method} needs a clientSecret" in error_of(creds("clientId: abc", f"tokenEndpointAuthMethod: {method}"))


def test_unknown_auth_method_and_unknown_credentials_key():
    assert '"tls_client_auth" is not supported' in error_of(
        creds("clientId: abc", "tokenEndpointAuthMethod: tls_client_auth")
    )
    message = error_of(creds("clientId: abc", "clientSecrets: x"))
    assert "oauth.credentials.clientSecrets: unknown key" in message


def test_a_public_client_without_a_secret_is_valid():
    c = parse(creds("clientId: abc", "tokenEndpointAuthMethod: none")).servers["slack-official"].oauth.credentials
    assert c.client_secret is None and c.token_endpoint_auth_method == "none"


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("name: x\ntype: server\nsecrets: x\n", "server.yaml:3:10: secrets: must be a list, not a string"),
        ("name: x\ntype: server\nlongLived: 'yes'\n", "longLived: must be true or false"),
        ("name: x\ntype: server\nremote: [a]\n", "remote: must be a mapping, not a list"),
        ("name: x\ntype: container\n", '"container" is not a server type'),
        ("- a\n- b\n", "server.yaml:1:1: must be a mapping, not a list"),
        ("name: team\nregistry: [a]\n", "registry: must be a mapping, not a list"),
        ("name: team\nregistry:\n  a: 3\n", "registry.a: must be a mapping, not a number"),
        ("name: Bad_Name\ntype: server\n", "server name (it names the catalog)"),
        ("name: x\ntype: server\nsecrets:\n  - env: X\n", "secrets[0].name: must be a non-empty string"),
        ("name: x\ntype: server\ntools:\n  - description: d\n", "tools[0].name: must be a non-empty string"),
    ],
)
def test_wrong_shapes_are_named_with_their_path(text, fragment):
    assert fragment in error_of(text)


def test_an_empty_file_is_an_error_not_an_empty_catalog():
    assert "the file is empty" in error_of("")


def test_yaml_syntax_errors_carry_line_and_column():
    with pytest.raises(DocumentError) as e:
        load("name: x\nregistry: [a, b\n", "cat.yaml")
    assert str(e.value).startswith("cat.yaml:3:1: invalid YAML:")


def test_duplicate_keys_are_refused_without_echoing_values():
    with pytest.raises(DocumentError) as e:
        load("clientSecret: one-SECRET\nclientSecret: two-SECRET\n", "s.yaml")
    assert "duplicate key" in str(e.value) and "SECRET" not in str(e.value).replace("clientSecret", "")
