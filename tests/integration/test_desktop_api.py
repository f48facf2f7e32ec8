"""docker_mcp.desktop.api against the Desktop stand-in on its unix sockets: the wire details the e2e tests
do not vary (query escaping, app names in paths, Desktop's error messages, make-busy being best effort)."""

from __future__ import annotations

import os

import pytest

from docker_mcp.desktop.api import DesktopClient, DesktopError
from docker_mcp.desktop.detect import backend_socket, desktop_running, tools_socket
from tests.servers.desktop_standin import DesktopBackend


@pytest.fixture
def desktop(tmp_path):
    with DesktopBackend(str(tmp_path)) as standin:
        yield standin, DesktopClient(str(tmp_path))


def test_the_sockets_are_where_the_standin_listens(desktop, tmp_path):
    standin, _ = desktop
    assert (backend_socket(str(tmp_path)), tools_socket(str(tmp_path))) == (standin.path, standin.tools_path)
    assert desktop_running(str(tmp_path))


def test_scopes_travel_url_escaped_in_the_query_and_empty_scopes_add_none(desktop):
    standin, client = desktop
    standin.add_app("notion")
    assert client.authorize_app("notion", "read write:all") == "https://desktop-oauth.invalid/authorize/notion"
    client.authorize_app("notion", "")
    assert standin.tools_calls() == [
        ("POST", "/apps/notion?scopes=read+write%3Aall", ""),
        ("POST", "/apps/notion", ""),
    ]
    assert [c.path for c in standin.requests if c.socket == "backend"] == ["/idle/make-busy"] * 2


def test_an_app_name_cannot_reach_another_path(desktop):
    standin, client = desktop
    with pytest.raises(DesktopError) as e:
        client.revoke_app("x/dcr?y")
    assert (e.value.status, str(e.value)) == (404, "HTTP 404: OAuth app x/dcr?y not found")
    assert standin.tools_calls() == [("DELETE", "/apps/x%2Fdcr%3Fy", "")]


def test_apps_are_read_with_their_scope_names_and_tools(desktop):
    standin, client = desktop
    standin.add_app("github", authorized=True, provider="github-oauth", scopes=("repo",))
    standin.apps["github"]["tools"] = ["list_issues"]
    [app] = client.list_apps()
    assert (app.app, app.authorized, app.provider, app.scopes, app.tools) == (
        "github",
        True,
        "github-oauth",
        ("repo",),
        ("list_issues",),
    )


def test_make_busy_is_best_effort(desktop):
    standin, client = desktop
    os.unlink(standin.path)  # the backend socket is gone; the tools socket still answers
    assert client.list_apps() == []
    assert standin.tools_calls() == [("GET", "/apps", "")]


def test_no_tools_socket_is_one_error_that_names_it(desktop):
    standin, client = desktop
    os.unlink(standin.tools_path)
    with pytest.raises(DesktopError) as e:
        client.list_apps()
    assert str(e.value) == f"no answer to GET /apps on {standin.tools_path}: No such file or directory"
    assert e.value.status is None
