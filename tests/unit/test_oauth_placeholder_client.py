"""A catalog's clientId left as a template's placeholder is told apart from the IDs providers issue."""

from __future__ import annotations

import pytest

from docker_mcp.oauth.flow import is_placeholder


@pytest.mark.parametrize(
    "client_id",
    [
        "your-slack-client-id",
        "YOUR_CLIENT_ID",
        "your client id",
        "<client-id>",
        "[client id]",
        "CLIENT_ID",
        "SLACK_CLIENT_ID",
        "${CLIENT_ID}",
        "$CLIENT_ID",
        "{{client_id}}",
        "xxxx",
        "replace-me",
        "client-id-here",
        "client_id",
        " your-app-id ",
    ],
)
def test_placeholders_are_recognised(client_id):
    assert is_placeholder(client_id)


@pytest.mark.parametrize(
    "client_id",
    [
        "1601185624273.8899143856786",  # Slack
        "Iv1.8a61f9b3a7aba766",  # GitHub
        "1234567890-abc.apps.googleusercontent.com",  # Google
        "0oa1b2c3d4e5f6",  # Okta
        "notes-app",
        "docker-mcp-test",
        "https://app.example/client.json",  # a client ID metadata document
        "Client_Id_42",
        "yours-truly",
    ],
)
def test_real_client_ids_are_not(client_id):
    assert not is_placeholder(client_id)
