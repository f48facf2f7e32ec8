from __future__ import annotations

import pytest

from docker_mcp.oauth.discovery import (
    authorization_server_metadata_urls,
    parse_authorization_server,
    parse_www_authenticate,
    protected_resource_metadata_urls,
)
from docker_mcp.oauth.errors import DiscoveryError


def test_protected_resource_metadata_is_looked_up_at_the_path_then_at_the_root():
    assert protected_resource_metadata_urls("https://mcp.slack.com/mcp") == [
        "https://mcp.slack.com/.well-known/oauth-protected-resource/mcp",
        "https://mcp.slack.com/.well-known/oauth-protected-resource",
    ]
    assert protected_resource_metadata_urls("https://example.com/") == [
        "https://example.com/.well-known/oauth-protected-resource"
    ]


def test_authorization_server_metadata_path_insertion_then_openid_both_forms():
    assert authorization_server_metadata_urls("https://auth.example.com/tenant1") == [
        "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
        "https://auth.example.com/.well-known/openid-configuration/tenant1",
        "https://auth.example.com/tenant1/.well-known/openid-configuration",
    ]
    assert authorization_server_metadata_urls("https://auth.example.com/") == [
        "https://auth.example.com/.well-known/oauth-authorization-server",
        "https://auth.example.com/.well-known/openid-configuration",
    ]


def test_www_authenticate_with_resource_metadata_and_scope():
    [bearer] = parse_www_authenticate(
        'Bearer error="invalid_token", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource", '
        'scope="read write"'
    )
    assert bearer.scheme == "Bearer"
    assert bearer.params["resource_metadata"] == "https://mcp.example.com/.well-known/oauth-protected-resource"
    assert bearer.params["scope"] == "read write"
    assert parse_www_authenticate("") == []


def test_authorization_server_metadata_needs_both_endpoints(monkeypatch):
    monkeypatch.delenv("DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS", raising=False)
    metadata = parse_authorization_server(
        {
            "issuer": "https://as.example.com",
            "authorization_endpoint": "https://as.example.com/auth",
            "token_endpoint": "https://as.example.com/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        },
        "https://as.example.com/.well-known/oauth-authorization-server",
    )
    assert metadata.registration_endpoint is None
    assert metadata.token_endpoint_auth_methods_supported == ("client_secret_post",)
    with pytest.raises(DiscoveryError, match="token_endpoint is missing"):
        parse_authorization_server({"authorization_endpoint": "https://as.example.com/auth"}, "u")
    with pytest.raises(Exception, match="must use https"):
        parse_authorization_server(
            {"authorization_endpoint": "http://as.example.com/a", "token_endpoint": "https://as.example.com/t"}, "u"
        )
