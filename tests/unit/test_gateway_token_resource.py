"""Which URLs a stored token may be sent to (RFC 8707 resource, RFC 9728 §3.3), and what the gateway says
when the catalog's URL is not one of them. The end-to-end case (two loopback servers, the real
credential helper) is tests/e2e/test_gateway_token_resource.py."""

from __future__ import annotations

import pytest

from docker_mcp.gateway.backends import BackendError, check_token_resource
from docker_mcp.oauth.clients import DCR, ClientRecord, save_client
from docker_mcp.oauth.discovery import resource_covers
from docker_mcp.oauth.tokens import Refresher
from tests.unit.test_oauth_pieces import MemoryStore


@pytest.mark.parametrize(
    "resource,url",
    [
        ("https://mcp.slack.com", "https://mcp.slack.com/mcp"),
        ("https://mcp.slack.com/", "https://mcp.slack.com/mcp"),
        ("https://h.example/mcp", "https://h.example/mcp"),
        ("https://h.example/mcp", "https://h.example/mcp/"),
        ("https://h.example/mcp/", "https://h.example/mcp"),
        ("https://h.example/mcp", "https://h.example/mcp/sse?x=1"),
        ("https://H.Example", "https://h.example:443/mcp"),
        ("http://127.0.0.1:18010", "http://127.0.0.1:18010/mcp"),
    ],
)
def test_a_token_serves_its_resource_and_the_urls_under_it(resource, url):
    assert resource_covers(resource, url)


@pytest.mark.parametrize(
    "resource,url",
    [
        ("http://127.0.0.1:18010/mcp", "http://127.0.0.1:18040/mcp"),  # another port
        ("https://mcp.slack.com", "https://mcp.slack.com.evil.example/mcp"),
        ("https://h.example/mcp", "http://h.example/mcp"),  # another scheme
        ("https://h.example/mcp", "https://h.example/mcp2"),  # a prefix, but not a parent path
        ("https://h.example/mcp", "https://h.example/other"),
        ("https://h.example/mcp?tenant=a", "https://h.example/mcp?tenant=b"),
        ("https://h.example:abc/", "https://h.example/"),
        ("mcp.slack.com", "https://mcp.slack.com/mcp"),
    ],
)
def test_a_token_serves_no_other_origin_or_path(resource, url):
    assert not resource_covers(resource, url)


def refresher_with(record: ClientRecord | None) -> Refresher:
    store = MemoryStore()
    if record is not None:
        save_client(store, record)
    return Refresher(store, lambda r: None, lambda r: None)


def record(resource: str) -> ClientRecord:
    return ClientRecord("dcr2", DCR, "client", "https://as.example/authorize", "https://as.example/token", "", resource)


def test_a_catalog_url_the_token_was_not_issued_for_is_refused_with_the_command_to_run():
    with pytest.raises(BackendError) as e:
        check_token_resource("dcr2", "https://evil.example/mcp", refresher_with(record("https://mcp.example/mcp")))
    assert str(e.value) == (
        "the authorization stored for dcr2 was made for https://mcp.example/mcp, but the catalog now gives "
        "https://evil.example/mcp: run 'docker mcp oauth authorize dcr2' if you trust the new URL"
    )


def test_a_record_that_names_no_resource_is_refused_too():
    with pytest.raises(BackendError) as e:
        check_token_resource("dcr2", "https://mcp.example/mcp", refresher_with(record("")))
    assert str(e.value) == (
        "the authorization stored for dcr2 does not say which URL it was made for: run 'docker mcp oauth revoke "
        "dcr2', then 'docker mcp oauth authorize dcr2' if you trust https://mcp.example/mcp"
    )


def test_nothing_stored_and_other_token_sources_are_left_to_themselves():
    check_token_resource("dcr2", "https://mcp.example/mcp", refresher_with(None))  # "not authorized" comes later
    check_token_resource("dcr2", "https://mcp.example/mcp/", refresher_with(record("https://mcp.example/mcp")))
    check_token_resource("dcr2", "https://other.example/mcp", object())  # Desktop's tokens: not a Refresher
