"""Secrets the Swarm way (issue 15): the gateway's own bearer token from a file (MCP_GATEWAY_AUTH_TOKEN_FILE,
a Docker secret under /run/secrets), and, in a container, a missing server secret explained as a Docker
secret to mount. The built zipapp through the docker CLI; a real MCP SDK server on loopback."""

from __future__ import annotations

import subprocess

import requests

from tests.e2e.conftest import DOCKER
from tests.e2e.oauth_support import free_port
from tests.e2e.test_gateway_http import start_gateway, stop
from tests.e2e.test_gateway_remote import LocalServer, import_remote

TOKEN = "PLANTED-gateway-token-from-a-file-7788"


def run_gateway(plugin, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [DOCKER, "mcp", "gateway", "run", "--transport", "streaming", "--port", str(free_port()), *extra]
    return subprocess.run(argv, env={**plugin.env, **env}, capture_output=True, text=True, timeout=60)


def test_the_token_comes_from_the_file_mcp_gateway_auth_token_file_names(plugin, tmp_path):
    plugin.env["DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS"] = "1"
    secret = tmp_path / "gateway_token"
    secret.write_text(TOKEN + "\n")  # as `docker secret create` keeps a file written by echo
    with LocalServer("alpha") as alpha:
        import_remote(plugin, tmp_path, "alpha", alpha.url)
        plugin.env["MCP_GATEWAY_AUTH_TOKEN_FILE"] = str(secret)
        port = free_port()
        gateway = start_gateway(plugin, "streaming", port, "--servers", "alpha", token=None)
        try:
            url = f"http://127.0.0.1:{port}/mcp"
            assert requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
            accept = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
            ping = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}  # fmt: skip
            r = requests.post(url, json=ping, headers={**accept, "Authorization": f"Bearer {TOKEN}"}, timeout=10)
            assert r.status_code == 200, r.text
        finally:
            log = stop(gateway)
    assert f"> Use Bearer token from MCP_GATEWAY_AUTH_TOKEN_FILE ({secret})" in log, log
    assert TOKEN not in log


def test_a_token_file_that_cannot_be_used_is_one_line_and_exit_1(plugin, tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    missing = tmp_path / "missing"
    cases = [
        ({"MCP_GATEWAY_AUTH_TOKEN_FILE": str(missing)},
         f"MCP_GATEWAY_AUTH_TOKEN_FILE={missing}: cannot read it (No such file or directory): "
         "mount the Docker secret there, or unset it"),
        ({"MCP_GATEWAY_AUTH_TOKEN_FILE": str(empty)},
         f"MCP_GATEWAY_AUTH_TOKEN_FILE={empty}: the file is empty: put the token in it"),
        ({"MCP_GATEWAY_AUTH_TOKEN_FILE": str(empty), "MCP_GATEWAY_AUTH_TOKEN": TOKEN},
         "both MCP_GATEWAY_AUTH_TOKEN and MCP_GATEWAY_AUTH_TOKEN_FILE are set: unset one of them"),
    ]  # fmt: skip
    for env, message in cases:
        r = run_gateway(plugin, env)
        assert (r.returncode, r.stderr.strip()) == (1, message), r.stderr
        assert TOKEN not in r.stdout + r.stderr


def test_in_a_container_a_missing_secret_is_a_docker_secret_to_mount(plugin, tmp_path):
    plugin.env["DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS"] = "1"
    secrets_dir = tmp_path / "run-secrets"
    secrets_dir.mkdir()
    with LocalServer("keyed") as keyed:
        catalog = tmp_path / "catalog.yaml"
        catalog.write_text(
            f"name: ops\nregistry:\n  keyed:\n    type: remote\n    remote:\n      url: {keyed.url}\n"
            '      headers:\n        Authorization: "Bearer ${KEY}"\n'
            "    secrets:\n      - name: keyed.api_key\n        env: KEY\n"
        )
        env = {
            "DOCKER_MCP_IN_CONTAINER": "1",
            "DOCKER_MCP_SECRETS_DIR": str(secrets_dir),
            "MCP_GATEWAY_AUTH_TOKEN": TOKEN,
        }
        r = run_gateway(plugin, env, "--catalog", str(catalog), "--servers", "keyed")
    assert r.returncode == 1, r.stderr
    expected = (
        f"secret keyed.api_key is not set: give the container the Docker secret keyed.api_key (the file "
        f"{secrets_dir}/keyed.api_key: 'secrets: [keyed.api_key]' in a stack or Compose file, or docker service "
        "create --secret keyed.api_key) or export KEY=…"
    )
    assert expected in r.stderr, r.stderr
    assert "docker mcp secret set" not in r.stderr
