"""The pieces behind issue 14's cases 3, 5 and 8: the callback page that waits for the token request,
the redirect URI's loopback host (oauth.redirectHost, --callback-host), and extra authorization-request
parameters (oauth.authorizationParameters, Google's provider module)."""

from __future__ import annotations

import re
import socket
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from docker_mcp.catalog.schema import FLOW_PARAMETERS, CatalogError, parse_document, server_json
from docker_mcp.catalog.yamldoc import load
from docker_mcp.oauth import providers
from docker_mcp.oauth.callback import CallbackServer, Redirect, choose_redirect
from docker_mcp.oauth.errors import OAuthError
from docker_mcp.oauth.providers import google

CODE = "PLANTED-code-" + "7f3a9c1e5b2d"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def held(server: CallbackServer, pool: ThreadPoolExecutor, url: str):
    """The browser's request with the code, sent in the background; the code is taken."""
    answer = pool.submit(requests.get, url, params={"code": CODE, "state": "S"}, timeout=10)
    assert server.wait(5) == CODE
    time.sleep(0.2)
    assert not answer.done(), "the callback was answered before the flow said how the token request went"
    return answer


def callback(hold_seconds: float = 10) -> tuple[CallbackServer, str]:
    port = free_port()
    redirect = Redirect(f"http://127.0.0.1:{port}/callback", "127.0.0.1", port, "/callback")
    return CallbackServer(redirect, "S", hold_seconds=hold_seconds), redirect.uri


# --- case 8: the page waits for the token request ---


def test_the_callback_page_says_successful_only_after_finish_ok():
    server, url = callback()
    with server, ThreadPoolExecutor(1) as pool:
        answer = held(server, pool, url)
        server.finish(True)
        page = answer.result()
    assert page.status_code == 200 and "Authorization Successful" in page.text


def test_a_failed_token_request_gives_a_failure_page_with_its_reason_and_never_the_code():
    server, url = callback()
    with server, ThreadPoolExecutor(1) as pool:
        answer = held(server, pool, url)
        server.finish(False, "token endpoint error: invalid_client <b>\x1b[31m\nsecond line")
        page = answer.result()
    assert page.status_code == 400 and "Authorization failed" in page.text
    assert "successful" not in page.text.lower()
    assert "token endpoint error: invalid_client &lt;b&gt; [31m second line</p>" in page.text  # escaped, one line
    assert "\x1b" not in page.text and CODE not in page.text


def test_a_reason_that_repeats_the_code_is_not_shown():
    server, url = callback()
    with server, ThreadPoolExecutor(1) as pool:
        answer = held(server, pool, url)
        server.finish(False, f"the server said: {CODE}")
        page = answer.result()
    assert "Authorization failed" in page.text and "see the terminal" in page.text
    assert CODE not in page.text and "PLANTED" not in page.text


def test_a_token_request_that_takes_too_long_leaves_the_page_at_still_working():
    server, url = callback(hold_seconds=0.5)
    with server, ThreadPoolExecutor(1) as pool:
        answer = held(server, pool, url)
        page = answer.result()
        server.finish(True)  # too late for the page: a no-op
    assert page.status_code == 202 and "Still working" in page.text and "see the terminal" in page.text
    assert "successful" not in page.text.lower() and "failed" not in page.text.lower()


def test_close_answers_a_held_request_as_interrupted():
    server, url = callback()
    with ThreadPoolExecutor(1) as pool:
        with server:
            answer = held(server, pool, url)
        page = answer.result(timeout=1)  # close() returned only once the page went out
    assert page.status_code == 400 and "the authorization was interrupted" in page.text


def test_finish_without_a_held_request_is_a_no_op_and_a_late_callback_after_close_is_refused():
    server, url = callback()
    with server:
        server.finish(False, "nothing held")
        started = time.monotonic()
        answer = requests.get(url, params={"state": "S", "error": "access_denied"}, timeout=5)
        assert answer.status_code == 400 and "access_denied" in answer.text  # answered at once, not held
        assert time.monotonic() - started < 5
        server.finish(False, "an error response was answered at once")
        with pytest.raises(OAuthError, match="access_denied"):
            server.wait(1)
    late, late_url = callback()
    with late:
        with pytest.raises(OAuthError, match="no authorization callback"):
            late.wait(0.1)
        late.close()
        late.start()  # still listening (say, a handler thread past accept): the code is not taken
        answer = requests.get(late_url, params={"state": "S", "code": "late-code"}, timeout=5)
        assert answer.status_code == 400 and "late-code" not in answer.text


# --- case 3: the redirect URI's loopback host ---


@pytest.mark.parametrize(
    ("host", "uri"),
    [
        ("127.0.0.1", "http://127.0.0.1:6000/callback"),
        ("localhost", "http://localhost:6000/callback"),
        ("::1", "http://[::1]:6000/callback"),
    ],
)
def test_the_redirect_uri_is_built_on_the_chosen_loopback_host(host, uri):
    redirect = choose_redirect(None, 6000, host=host)
    assert (redirect.uri, redirect.host, redirect.port, redirect.path) == (uri, host, 6000, "/callback")


def test_a_redirect_host_that_is_not_loopback_is_refused_and_redirect_uri_wins():
    with pytest.raises(OAuthError, match=re.escape("callback host example.com must be localhost, 127.0.0.1 or ::1")):
        choose_redirect(None, 6000, host="example.com")
    assert choose_redirect("http://localhost:3118/cb", 6000, host="::1").uri == "http://localhost:3118/cb"


def test_the_callback_server_answers_on_ipv6_loopback():
    port = free_port()
    redirect = choose_redirect(None, port, host="::1")
    with CallbackServer(redirect, "S") as server, ThreadPoolExecutor(1) as pool:
        answer = pool.submit(
            requests.get, f"http://[::1]:{port}/callback", params={"code": "C", "state": "S"}, timeout=5
        )
        assert server.wait(5) == "C"
        server.finish(True)
        assert answer.result().status_code == 200


# --- case 5: extra authorization-request parameters ---


@pytest.mark.parametrize(
    "endpoint",
    ["https://accounts.google.com/o/oauth2/v2/auth", "https://accounts.google.com/o/oauth2/auth"],
)
def test_google_gets_offline_access_and_consent(endpoint):
    assert providers.authorization_parameters(endpoint, {}) == {"access_type": "offline", "prompt": "consent"}


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://accounts.google.com.example/o/oauth2/v2/auth",
        "http://accounts.google.com/o/oauth2/v2/auth",
        "https://accounts.google.com/o/oauth2/v2/authorize",
        "https://auth.example.com/authorize",
    ],
)
def test_other_authorization_endpoints_get_nothing_from_google(endpoint):
    assert google.authorization_parameters(endpoint) == {}
    assert providers.authorization_parameters(endpoint, {"login_hint": "a@b"}) == {"login_hint": "a@b"}


def test_the_catalog_wins_over_the_provider_module():
    merged = providers.authorization_parameters(
        "https://accounts.google.com/o/oauth2/v2/auth", {"prompt": "select_account consent", "hd": "example.com"}
    )
    assert merged == {"access_type": "offline", "prompt": "select_account consent", "hd": "example.com"}


# --- the catalog keys ---

ENTRY = """\
name: notes
type: remote
remote:
  url: https://mcp.notes.example/mcp
oauth:
"""


def parse(*oauth_lines: str):
    text = ENTRY + "".join(f"  {line}\n" for line in oauth_lines)
    return parse_document(load(textwrap.dedent(text), "notes.yaml"), "notes.yaml").servers["notes"]


def error_of(*oauth_lines: str) -> str:
    with pytest.raises(CatalogError) as e:
        parse(*oauth_lines)
    message = str(e.value)
    assert "\n" not in message
    return message


def test_the_new_oauth_keys_parse_and_show_as_written():
    server = parse(
        "redirectHost: localhost",
        "authorizationParameters:",
        "  access_type: offline",
        "  max_age: 600",
    )
    assert server.oauth.redirect_host == "localhost"
    assert server.oauth.authorization_parameters == {"access_type": "offline", "max_age": "600"}
    shown = server_json(server)["oauth"]
    assert shown == {
        "redirectHost": "localhost",
        "authorizationParameters": {"access_type": "offline", "max_age": "600"},
    }
    assert "redirectHost" not in server_json(parse("scopes: [a]"))["oauth"]  # the default is left out


@pytest.mark.parametrize("value", ["example.com", "127.0.0.2"])
def test_a_redirect_host_that_is_not_loopback_is_a_one_line_error(value):
    message = error_of(f"redirectHost: {value}")
    assert message.startswith("notes.yaml:6:17: oauth.redirectHost: ")
    assert "is not a loopback host; use localhost, 127.0.0.1 or ::1" in message


def test_a_redirect_host_with_a_redirect_uri_is_refused():
    message = error_of(
        "redirectHost: localhost", "credentials:", "  clientId: notes-app", "  redirectUri: http://127.0.0.1:3118/cb"
    )
    assert "oauth.redirectHost: is not used when credentials.redirectUri is set" in message


@pytest.mark.parametrize("key", FLOW_PARAMETERS)
def test_parameters_the_flow_sets_are_refused_naming_the_key(key):
    message = error_of("authorizationParameters:", f"  {key}: x")
    changes_the_return = key in ("response_mode", "request", "request_uri")
    why = (
        "would change how the authorization code comes back"
        if changes_the_return
        else "is set by the authorization flow"
    )
    assert message.startswith(f"notes.yaml:7:5: oauth.authorizationParameters.{key}: {why}"), message


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        (("authorizationParameters: [access_type]",), "oauth.authorizationParameters: must be a mapping"),
        (("authorizationParameters:", "  prompt: true"), "oauth.authorizationParameters.prompt: must be a string"),
        (("authorizationParameters:", "  prompt: {a: b}"), "oauth.authorizationParameters.prompt: must be a string"),
    ],
)
def test_authorization_parameters_must_map_strings_to_strings(lines, fragment):
    assert fragment in error_of(*lines)


def test_a_client_metadata_url_beside_a_pre_registered_client_is_refused():
    message = error_of(
        "clientMetadataUrl: https://app.example.com/oauth/client.json", "credentials:", "  clientId: notes-app"
    )
    assert "oauth.clientMetadataUrl: is not used when oauth.credentials is set" in message


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("redirect_host: localhost", "redirectHost"),
        ("clientMetadataURL: https://app.example.com/c.json", "clientMetadataUrl"),
        ("authorizationParams: {prompt: consent}", "authorizationParameters"),
        ("scope: [a]", "scopes"),
    ],
)
def test_a_near_miss_of_an_oauth_key_is_refused_naming_the_key_meant(typo, meant):
    message = error_of(typo)
    assert message.startswith(f"notes.yaml:6:3: oauth.{typo.split(':')[0]}: unknown key: did you mean {meant}?")


def test_an_unknown_oauth_key_that_is_no_near_miss_is_left_alone():
    assert parse("scopes: [a]", "futureThing: 1").oauth.scopes == ("a",)


def test_a_bracketed_ipv6_redirect_host_is_told_to_drop_the_brackets():
    assert "oauth.redirectHost: write the IPv6 loopback without brackets: ::1" in error_of("redirectHost: '[::1]'")


@pytest.mark.parametrize(
    "line",
    ["redirectHost: localhost", "clientMetadataUrl: https://app.example.com/c.json", "authorizationParameters: {a: b}"],
)
def test_the_browser_flow_keys_are_for_remote_servers_only(line):
    text = "name: notes\ntype: server\nimage: mcp/notes\noauth:\n  " + line + "\n"
    with pytest.raises(CatalogError) as e:
        parse_document(load(text, "notes.yaml"), "notes.yaml")
    assert "is for a `type: remote` server with a `remote.url` only" in str(e.value)
    assert "\n" not in str(e.value)
