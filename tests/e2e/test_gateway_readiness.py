"""What an orchestrator asks of the gateway (issue 15, health): `/health` is liveness, `/ready` says
whether every configured server connected, and a gateway with nothing to serve (and no --watch to change
that) exits 1 instead of serving no tools. The gateway is the built zipapp through the docker CLI, the
servers real MCP SDK servers on loopback, one of them a URL where nothing listens."""

from __future__ import annotations

import subprocess

import requests

from tests.e2e.conftest import DOCKER
from tests.e2e.oauth_support import free_port
from tests.e2e.test_gateway_http import TOKEN, start_gateway, stop
from tests.e2e.test_gateway_remote import LocalServer, import_remote


def test_ready_names_the_servers_that_did_not_connect_while_health_stays_200(plugin, tmp_path):
    plugin.env["DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS"] = "1"
    plugin.env["DOCKER_MCP_CONNECT_TIMEOUT"] = "5"
    with LocalServer("up") as up:
        import_remote(plugin, tmp_path, "up", up.url)
        import_remote(plugin, tmp_path, "down", f"http://127.0.0.1:{free_port()}/mcp")  # nothing listens
        for servers, ready in (("up,down", False), ("up", True)):
            port = free_port()
            gateway = start_gateway(plugin, "streaming", port, "--servers", servers)
            try:
                assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
                r = requests.get(f"http://127.0.0.1:{port}/ready", timeout=5)  # no token, as /health
                assert (r.status_code, r.headers["content-type"]) == (200 if ready else 503, "application/json")
                assert r.json() == {"ready": ready, "connected": ["up"], "notConnected": [] if ready else ["down"]}
                assert requests.get(f"http://127.0.0.1:{port}/mcp", timeout=5).status_code == 401  # the rest: token
            finally:
                stop(gateway)


def test_nothing_to_serve_without_watch_is_exit_1(plugin, tmp_path):
    plugin.env["DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS"] = "1"
    plugin.env["DOCKER_MCP_CONNECT_TIMEOUT"] = "5"
    import_remote(plugin, tmp_path, "down", f"http://127.0.0.1:{free_port()}/mcp")
    port = str(free_port())
    env = {**plugin.env, "MCP_GATEWAY_AUTH_TOKEN": TOKEN}
    for extra, env_extra in ((["--watch=false"], {}), ([], {"DOCKER_MCP_IN_CONTAINER": "1"})):
        argv = [DOCKER, "mcp", "gateway", "run", "--transport", "streaming", "--port", port, "--servers", "down"]
        r = subprocess.run(argv + extra, env={**env, **env_extra}, capture_output=True, text=True, timeout=60)
        assert r.returncode == 1, (r.stdout, r.stderr)
        last = r.stderr.strip().splitlines()[-1]
        assert last == "the server could not be connected (see the line above)", r.stderr
        assert "Traceback" not in r.stderr
    # with --watch (a host's default) the gateway waits for a configuration it can serve
    gateway = start_gateway(plugin, "streaming", int(port), "--servers", "down")
    try:
        assert requests.get(f"http://127.0.0.1:{port}/ready", timeout=5).json()["notConnected"] == ["down"]
    finally:
        stop(gateway)


def test_a_container_without_stdin_and_without_an_http_transport_says_so(plugin):
    """`docker run IMAGE --servers x` (the image's default --transport replaced) has stdin /dev/null:
    a stdio gateway there would end at once with 0, a restart loop; it is an error instead."""
    env = {**plugin.env, "DOCKER_MCP_IN_CONTAINER": "1"}
    with open("/dev/null") as devnull:
        r = subprocess.run(
            [DOCKER, "mcp", "gateway", "run"], env=env, stdin=devnull, capture_output=True, text=True, timeout=60
        )
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.strip() == (
        "nothing to serve on stdio: stdin is not open (docker run without -i); "
        "serve over HTTP with --transport streaming, or give the container a stdin with -i"
    )
