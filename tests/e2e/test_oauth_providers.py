"""The Slack walkthrough against a stand-in reproducing Slack's token endpoint, and a second, independent
authorization server (the MCP SDK's) for a pre-registered client and for DCR."""

from __future__ import annotations

import json
import secrets
import shutil

from ruamel.yaml import YAML

from tests.conftest import SLACK_EXAMPLE
from tests.e2e.oauth_support import free_port
from tests.servers.sdk_auth_server import SdkAuthServer
from tests.servers.slack_standin import SlackStandIn

PLANTED_SECRET = "PLANTED-slack-client-secret-" + secrets.token_hex(6)
CLIENT_ID = "1601185624273.8899143856786"


def slack_yaml(tmp_path, slack: SlackStandIn, redirect_uri: str):
    """The shared example, with the client ID of 'your app', the stand-in's endpoints and its redirect URL."""
    yaml = YAML()
    path = tmp_path / "slack-official.yaml"
    shutil.copy(SLACK_EXAMPLE, path)
    doc = yaml.load(path.read_text())
    creds = doc["oauth"]["credentials"]
    creds["clientId"] = CLIENT_ID
    creds["authorizationEndpoint"] = slack.authorize_url
    creds["tokenEndpoint"] = slack.token_url
    creds["redirectUri"] = redirect_uri
    with open(path, "w") as f:
        yaml.dump(doc, f)
    return path


def test_the_readme_slack_walkthrough_against_the_standin(oauth_user, tmp_path):
    port = free_port()
    redirect_uri = f"http://localhost:{port}/callback"
    with SlackStandIn(CLIENT_ID, PLANTED_SECRET, redirect_uri, client_auth="body") as slack:
        path = slack_yaml(tmp_path, slack, redirect_uri)
        out = oauth_user.ok("mcp", "catalog", "import", str(path))
        assert out == 'Imported server "slack-official" into catalog "slack-official"\n'
        oauth_user.ok("mcp", "secret", "set", "slack-official.client_secret", input=PLANTED_SECRET + "\n")
        r = oauth_user.authorize("slack-official", port)
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"Using pre-registered client {CLIENT_ID} (dynamic client registration skipped)" in r.stdout
        assert f"Waiting for authorization callback on {redirect_uri}..." in r.stdout

        # Both endpoints are in the file: nothing was discovered. Slack takes body credentials only, so the
        # detected method is Basic (refused: bad_client_secret, as client_id is in the body but no secret),
        # then the body; the record remembers what worked.
        requests = slack.requests.snapshot()
        assert [q.path for q in requests] == [
            "/oauth/v2_user/authorize",
            "/api/oauth.v2.user.access",
            "/api/oauth.v2.user.access",
        ]
        assert [q.auth for q in requests[1:]] == ["Basic", None]
        assert requests[1].error == "bad_client_secret"
        record, token = oauth_user.stored("slack-official")
        assert record.token_endpoint_auth_method == "client_secret_post"
        assert token.token_type == "Bearer" and token.access_token.startswith("xoxp-")
        assert token.refresh_token.startswith("xoxe-1-") and token.expiry is not None
        info = slack.token_info(token.access_token)
        assert info.scopes == ("search:read.public", "chat:write", "channels:history")
        assert info.resource == "https://mcp.slack.com/mcp"

        [row] = json.loads(oauth_user.ok("mcp", "oauth", "ls", "--json"))
        assert row == {  # docs/json/oauth-ls.schema.json
            "app": "slack-official",
            "authorized": True,
            "provider": "slack-official",
            "scopes": [{"name": "search:read.public"}, {"name": "chat:write"}, {"name": "channels:history"}],
            "tools": [],
            "clientType": "pre-registered",
            "expiresAt": row["expiresAt"],
        }
        # a second authorize goes straight to the body, and --scopes replaces the catalog's scopes
        before = len(slack.requests.snapshot())
        assert oauth_user.authorize("slack-official", port, "--scopes", "chat:write").returncode == 0
        assert [q.auth for q in slack.requests.snapshot()[before:] if q.path.startswith("/api")] == [None]
        _, narrower = oauth_user.stored("slack-official")
        assert slack.token_info(narrower.access_token).scopes == ("chat:write",)
        oauth_user.assert_nothing_leaked(PLANTED_SECRET, token.access_token, token.refresh_token)


def test_slack_errors_are_named(oauth_user, tmp_path):
    port = free_port()
    redirect_uri = f"http://localhost:{port}/callback"
    with SlackStandIn(CLIENT_ID, PLANTED_SECRET, redirect_uri) as slack:
        oauth_user.import_server(slack_yaml(tmp_path, slack, redirect_uri).read_text())
        oauth_user.ok("mcp", "secret", "set", "slack-official.client_secret=wrong-" + PLANTED_SECRET[::-1])
        r = oauth_user.authorize("slack-official", port)
        assert r.returncode == 1
        assert r.stderr.strip().splitlines()[-1] == "token endpoint error: bad_client_secret"
        assert oauth_user.stored("slack-official") == (None, None)


def sdk_client(port: int) -> dict:
    return {
        "client_id": "sdk-app",
        "client_secret": PLANTED_SECRET,
        "token_endpoint_auth_method": "client_secret_post",
        "redirect_uris": [f"http://127.0.0.1:{port}/callback"],
        "scope": "mcp:read mcp:write",
    }


def test_mcp_sdk_server_pre_registered_client_without_dcr(oauth_user):
    port = free_port()
    with SdkAuthServer(dcr=False, clients=[sdk_client(port)], resource="/mcp", protected_resource=True) as sdk:
        entry = (
            f"name: sdk-remote\ntype: remote\nremote:\n  url: {sdk.resource}\n"
            f'oauth:\n  credentials:\n    clientId: "sdk-app"\n    clientSecret: sdk-remote.client_secret\n'
            f"    tokenEndpointAuthMethod: client_secret_post\n"
            f"secrets:\n  - name: sdk-remote.client_secret\n    env: SDK_SECRET\n"
        )
        oauth_user.import_server(entry)
        oauth_user.ok("mcp", "secret", "set", "sdk-remote.client_secret", input=PLANTED_SECRET)
        r = oauth_user.authorize("sdk-remote", port)
        assert r.returncode == 0, r.stdout + r.stderr
        assert sdk.requests.count(path="/register") == 0
        _, token = oauth_user.stored("sdk-remote")
        info = sdk.token_info(token.access_token)
        assert info is not None and info.resource == sdk.resource
        oauth_user.assert_nothing_leaked(PLANTED_SECRET, token.access_token, token.refresh_token)


def test_mcp_sdk_server_dynamic_registration(oauth_user):
    port = free_port()
    with SdkAuthServer(dcr=True, resource="/mcp", protected_resource=True) as sdk:
        oauth_user.import_server(f"name: sdk-dcr\ntype: remote\nremote:\n  url: {sdk.resource}\n")
        r = oauth_user.authorize("sdk-dcr", port)
        assert r.returncode == 0, r.stdout + r.stderr
        assert sdk.requests.count(path="/register", method="POST") == 1
        record, token = oauth_user.stored("sdk-dcr")
        [registered] = sdk.registered_clients
        assert record.client_type == "dcr" and record.client_id == registered.client_id
        # the SDK issues a secret to a client_secret_post client; it is kept and used
        assert record.token_endpoint_auth_method == registered.token_endpoint_auth_method
        if registered.client_secret:
            assert record.client_secret == registered.client_secret
        assert sdk.token_info(token.access_token) is not None
        # a second authorize reuses the registered client
        assert oauth_user.authorize("sdk-dcr", port).returncode == 0
        assert sdk.requests.count(path="/register", method="POST") == 1


def test_dcr_switched_off_by_the_feature_flag(oauth_user):
    port = free_port()
    with SdkAuthServer(dcr=True, resource="/mcp", protected_resource=True) as sdk:
        oauth_user.import_server(f"name: sdk-dcr\ntype: remote\nremote:\n  url: {sdk.resource}\n")
        oauth_user.ok("mcp", "feature", "disable", "mcp-oauth-dcr")
        r = oauth_user.authorize("sdk-dcr", port)
        assert r.returncode == 1
        assert r.stderr == (
            "sdk-dcr has no pre-registered client (oauth.credentials) and dynamic client registration is disabled: "
            "run 'docker mcp feature enable mcp-oauth-dcr' or add oauth.credentials to its catalog entry\n"
        )
        assert sdk.requests.count(path="/register") == 0 and len(sdk.requests.snapshot()) == 0
