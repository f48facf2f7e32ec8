"""The pure parts of the OAuth hardening: private addresses in IPv6 spellings, what is printed of a
server's text, and token lifetimes that are not numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from docker_mcp.errors import terminal_safe, untrusted_text
from docker_mcp.oauth.errors import OAuthError
from docker_mcp.oauth.http import check_url
from docker_mcp.oauth.token_endpoint import _checked_expires_in
from docker_mcp.oauth.tokens import Token


@pytest.mark.parametrize(
    "host",
    [
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254, the cloud metadata service
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64 (RFC 8215) of 10.0.0.1
        "::127.0.0.1",  # IPv4-compatible
        "::ffff:169.254.169.254",  # IPv4-mapped
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2002:c0a8:0101::1",  # 6to4 of 192.168.1.1
        "::ffff:0:a9fe:a9fe",  # SIIT (RFC 7915) of 169.254.169.254
        "::ffff:0:7f00:1",  # SIIT of 127.0.0.1
        "fec0::1",  # deprecated site-local
    ],
)
def test_ipv6_spellings_of_private_ipv4_addresses_are_refused(host, monkeypatch):
    monkeypatch.delenv("DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS", raising=False)
    with pytest.raises(OAuthError, match="is not allowed"):
        check_url(f"https://[{host}]/mcp", "remote server URL")


@pytest.mark.parametrize("host", ["64:ff9b::808:808", "2002:808:808::1", "2606:4700:4700::1111"])
def test_ipv6_spellings_of_public_addresses_pass(host, monkeypatch):
    monkeypatch.delenv("DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS", raising=False)
    assert check_url(f"https://[{host}]/mcp", "remote server URL")


def test_urls_with_control_characters_are_refused_without_echoing_them():
    with pytest.raises(OAuthError) as e:
        check_url("https://auth.example.com/authorize\x1b]0;pwned\x07", "authorization endpoint")
    assert "\x1b" not in str(e.value) and "control characters" in str(e.value)


def test_server_text_loses_control_characters_and_newlines():
    text = "bad\x1b[2J request\x1b]0;pwned\x07\nsecond line\r\x9b"
    shown = untrusted_text(text)
    assert shown is not None
    assert not any(c in shown for c in "\x1b\x07\n\r\x9b")
    assert shown.startswith("bad") and "second line" in shown


@pytest.mark.parametrize("spelling", ["s3cr+t/v@lue", "s3cr%2Bt%2Fv%40lue", "s3cr%2Bt/v%40lue"])
def test_server_text_that_echoes_a_sent_value_is_withheld(spelling):
    """Raw, form-encoded (what requests sends) and percent-encoded echoes of the client secret."""
    echoed = f"bad request: grant_type=authorization_code&client_secret={spelling}&code=abc"
    assert untrusted_text(echoed, ("s3cr+t/v@lue",)) is None
    assert untrusted_text("invalid_grant", ("s3cr+t/v@lue",)) == "invalid_grant"


def test_terminal_safe_keeps_newlines_only_when_asked():
    assert terminal_safe("a\x1b[2J\nb", keep_newlines=True) == "a[2J\nb"
    assert terminal_safe("a\nb") == "ab"


def token_response(expires_in: object) -> dict:
    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps({"access_token": "A", "token_type": "Bearer", "expires_in": expires_in}).encode()
    return json.loads(_checked_expires_in(response).text)


@pytest.mark.parametrize("value", [1e12, "soon", float("inf"), float("nan"), None, True, [3600], "1e400"])
def test_an_expires_in_that_is_not_a_usable_number_is_dropped(value):
    assert "expires_in" not in token_response(value)


@pytest.mark.parametrize(("value", "kept"), [(3600, 3600), ("3600", 3600), (3600.7, 3600), (-5, -5), (0, 0)])
def test_a_numeric_expires_in_is_kept_as_whole_seconds(value, kept):
    assert token_response(value)["expires_in"] == kept


def test_a_negative_lifetime_is_already_expired_and_zero_is_unknown():
    now = datetime.now(UTC)
    expired = Token.from_response({"access_token": "A", "expires_in": -5}).expiry
    assert expired is not None and abs(expired - now) < timedelta(seconds=5)
    assert Token.from_response({"access_token": "A", "expires_in": 0}).expiry is None
    assert Token.from_response({"access_token": "A", "expires_in": 1e12}).expiry is None


def test_server_text_that_echoes_a_basic_header_a_lowercase_encoding_or_part_of_a_value_is_withheld():
    from docker_mcp.oauth.token_endpoint import FormEncodedBasic

    secret = "Top/Secret+Value=Zq9"
    basic = FormEncodedBasic("PRECLIENT", secret).credentials
    sent = (secret, basic)
    assert untrusted_text(f"bad header Basic {basic}", sent) is None
    assert untrusted_text("got client_secret=Top%2fSecret%2bValue%3dZq9", sent) is None
    assert untrusted_text("secret starts Top/Secret+Value=Zq", sent) is None
    assert untrusted_text("TOP/SECRET+VALUE=ZQ9 is wrong", sent) is None
    assert untrusted_text("invalid_client: unknown client", sent) == "invalid_client: unknown client"


def test_server_text_loses_bidi_overrides_and_invisible_characters():
    shown = untrusted_text("ok\u202egnp.exe\u2066x\u2069\u200b\ufeff\u00adend")
    assert shown == "ok gnp.exe x end"


def test_a_form_encoded_expires_in_that_is_not_a_number_is_dropped():
    response = requests.Response()
    response.status_code = 200
    response._content = b"access_token=A&token_type=Bearer&expires_in=soon"
    assert "expires_in" not in json.loads(_checked_expires_in(response).text)


def test_an_access_token_that_is_not_a_string_is_no_token():
    assert Token.from_response({"access_token": ["AT"], "token_type": "Bearer"}).access_token == ""


@pytest.mark.parametrize("url", ["http://[::1", "https://example.com:70000/token", "https://[fe80::1%zz/x"])
def test_urls_that_do_not_parse_are_a_clean_error(url):
    with pytest.raises(OAuthError, match=r"not a valid URL|must be an absolute URL"):
        check_url(url, "token endpoint")


@pytest.mark.parametrize("raw", ["abc", "3s", "1e10", "-1", "nan", "inf"])
def test_a_nonsense_deadline_falls_back_to_30_seconds_with_a_warning(raw, monkeypatch, capsys):
    from docker_mcp import bounded_http

    monkeypatch.setenv("DOCKER_MCP_HTTP_TIMEOUT", raw)
    bounded_http._deadline.cache_clear()
    assert bounded_http.deadline_seconds() == 30
    assert f"DOCKER_MCP_HTTP_TIMEOUT={raw} is not a number of seconds" in capsys.readouterr().err
    monkeypatch.setenv("DOCKER_MCP_HTTP_TIMEOUT", "2.5")
    assert bounded_http.deadline_seconds() == 2.5


def test_the_cli_strips_escape_sequences_from_what_it_writes_on_stderr(capsys, monkeypatch, tmp_path):
    from docker_mcp.argv import GlobalOptions
    from docker_mcp.cli import run

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / ".docker"))
    monkeypatch.setenv("DOCKER_MCP_USE_CE", "true")
    name = "x\x1b]0;pwned\x07\x1b[2J\u202e"
    assert run(GlobalOptions(), ["oauth", "authorize", name]) == 1
    err = capsys.readouterr().err
    assert 'server "x]0;pwned[2J" not found in any configured catalog' in err, err
    assert run(GlobalOptions(), ["oauth", "authorize", "x", "--timeout", "1e10"]) == 125
    assert "--timeout must be a number of seconds above 0, at most 86400, not 1e+10" in capsys.readouterr().err
