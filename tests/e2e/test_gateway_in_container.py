"""The operator's way: the gateway itself in a container on a real Docker engine, as Compose runs it —
the built zipapp in an image with Python, DOCKER_MCP_IN_CONTAINER=1, its catalog mounted as a file, a
Docker secret mounted under /run/secrets — serving streamable HTTP to an MCP client outside the
container, in front of a remote server that wants an API key from that secret."""

from __future__ import annotations

import re
import time

import anyio
import httpx2
import pytest
import requests
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer

from tests.conftest import ROOT
from tests.e2e.oauth_support import free_port
from tests.e2e.test_gateway_containers import engine_user, images  # noqa: F401  (fixtures)
from tests.e2e.test_gateway_remote import LoopbackApp
from tests.helpers.mcp_images import ensure_time_image

API_KEY = "PLANTED-docker-secret-api-key-5150"
GATEWAY_TOKEN = "container-gateway-token-" + "y" * 16
IMAGE = "docker-mcp-gateway:test"
# a remote server that wants an API key, which the gateway reads from the Docker secret internal.api_key
CATALOG = """name: operators
registry:
  internal:
    type: remote
    remote:
      url: {url}
      headers:
        Authorization: "Bearer ${{INTERNAL_API_KEY}}"
    secrets:
      - name: internal.api_key
        env: INTERNAL_API_KEY
"""


class KeyedServer(LoopbackApp):
    """A real MCP SDK server over streamable HTTP that answers only requests bearing API_KEY."""

    def __init__(self) -> None:
        self.mcp = MCPServer("keyed")
        self.refused = 0

        @self.mcp.tool()
        def whisper(text: str) -> str:
            return text.lower()

        app = self.mcp.streamable_http_app()

        async def checked(scope, receive, send):
            headers = dict(scope.get("headers") or [])
            if scope["type"] == "http" and headers.get(b"authorization") != f"Bearer {API_KEY}".encode():
                self.refused += 1
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
            await app(scope, receive, send)

        super().__init__(checked)


async def whisper_through(port: int) -> str:
    """An MCP SDK client outside the container: initialize, list the tools, call whisper through the gateway."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {GATEWAY_TOKEN}"}) as http,
        streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        assert [t.name for t in (await session.list_tools()).tools] == ["whisper"]
        result = await session.call_tool("whisper", {"text": "From Outside"})
        assert not result.is_error, result.content
        return result.content[0].text


def listening_address(port: int) -> str | None:
    """The local address (hex, as /proc/net/tcp spells it) of the socket listening on `port`."""
    with open("/proc/net/tcp") as f:
        for line in f.read().splitlines()[1:]:
            local, _, state = line.split()[1:4]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                return address
    return None


@pytest.fixture(scope="module")
def gateway_image(docker_engine, installed_config):
    """The image the repository's Dockerfile builds (the legacy builder: there is no buildx here), on
    mcp-time:test (Debian bookworm with Python 3.11) as its BASE, since this machine pulls nothing."""
    base = ensure_time_image(docker_engine)
    docker_engine.docker(
        "build", "--build-arg", f"BASE={base}", "-t", IMAGE, ROOT, env=docker_engine.env(DOCKER_BUILDKIT="0")
    )
    yield IMAGE
    docker_engine.docker("rmi", "-f", IMAGE, check=False)


def test_the_gateway_in_a_container_reads_a_docker_secret_and_serves_clients_outside(
    docker_engine, gateway_image, tmp_path
):
    port = free_port()
    secret = tmp_path / "internal.api_key"
    secret.write_text(API_KEY + "\n")  # as `docker secret create` or Compose's `secrets:` file
    token = tmp_path / "gateway_token"
    token.write_text(GATEWAY_TOKEN + "\n")
    with KeyedServer() as keyed:
        catalog = tmp_path / "catalog.yaml"
        catalog.write_text(CATALOG.format(url=keyed.url))
        run = [
            "run", "-d", "--network", "host",  # the test's servers and client are on this host's loopback
            "-e", "DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS=1",  # the remote server is plain http on loopback
            "-e", "MCP_GATEWAY_AUTH_TOKEN_FILE=/run/secrets/gateway_token",
            "-v", f"{catalog}:/catalog.yaml:ro",
            "-v", f"{secret}:/run/secrets/internal.api_key:ro",
            "-v", f"{token}:/run/secrets/gateway_token:ro",
            gateway_image,
            "--catalog", "/catalog.yaml", "--servers", "internal", "--transport", "streaming", "--port", str(port),
        ]  # fmt: skip
        container = docker_engine.docker(*run).stdout.decode().strip()
        try:
            deadline = time.time() + 90  # the first start unpacks the zipapp
            while time.time() < deadline:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                        break
                except requests.ConnectionError:
                    time.sleep(0.3)
            else:
                raise AssertionError(docker_engine.docker("logs", container, check=False).stderr.decode())

            # in a container the gateway listens on every interface (its clients are outside it)
            assert listening_address(port) == "00000000", "not on 0.0.0.0"
            assert anyio.run(whisper_through, port) == "from outside"
            assert keyed.refused == 0  # every request carried the key from the Docker secret
            assert requests.get(f"http://127.0.0.1:{port}/mcp", timeout=5).status_code == 401  # no token
        finally:
            docker_engine.docker("stop", "-t", "10", container, check=False)
            status = docker_engine.docker("wait", container, check=False).stdout.decode().strip()
            logs = docker_engine.docker("logs", container, check=False)
            inspect = docker_engine.docker("inspect", container, check=False).stdout.decode()
            docker_engine.docker("rm", "-f", container, check=False)
    out = logs.stdout.decode() + logs.stderr.decode()
    assert status == "0", out  # SIGTERM from `docker stop`: a clean exit
    assert "> Start streaming server on port" in out
    assert "- Watching for configuration updates" not in out  # no watching in a container
    for planted in (API_KEY, GATEWAY_TOKEN):  # the secrets are files, never env, argv or logs
        assert planted not in out and planted not in inspect


def test_the_image_runs_read_only_as_a_non_root_user_without_unpacking_and_reports_healthy(
    docker_engine, gateway_image, tmp_path
):
    """`docker run --read-only` of the Dockerfile's image: the zipapp was unpacked when the image was
    built (nothing to write at start), the gateway runs as uid 10001, takes its port from
    MCP_GATEWAY_PORT, its HEALTHCHECK turns the container healthy, and `docker stop` ends it with 0."""
    port = free_port()
    with KeyedServer() as keyed:
        catalog = tmp_path / "catalog.yaml"
        catalog.write_text(CATALOG.format(url=keyed.url))
        secret = tmp_path / "internal.api_key"
        secret.write_text(API_KEY + "\n")
        run = [
            "run", "-d", "--read-only", "--network", "host",
            "-e", "DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS=1",
            "-e", f"MCP_GATEWAY_AUTH_TOKEN={GATEWAY_TOKEN}",
            "-e", f"MCP_GATEWAY_PORT={port}",
            "-v", f"{catalog}:/catalog.yaml:ro",
            "-v", f"{secret}:/run/secrets/internal.api_key:ro",
            gateway_image,
            "--catalog", "/catalog.yaml", "--servers", "internal", "--transport", "streaming", "--stateless",
        ]  # fmt: skip
        started = time.monotonic()
        container = docker_engine.docker(*run).stdout.decode().strip()
        try:
            deadline = time.time() + 60
            while time.time() < deadline:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                        break
                except requests.ConnectionError:
                    time.sleep(0.1)
            else:
                raise AssertionError(docker_engine.docker("logs", container, check=False).stderr.decode())
            print(f"/health answered {time.monotonic() - started:.1f} s after docker run")  # measured, not asserted
            user = docker_engine.docker("exec", container, "id", "-u").stdout.decode().strip()
            assert user == "10001"

            def health() -> str:
                return (
                    docker_engine.docker("inspect", "--format", "{{.State.Health.Status}}", container)
                    .stdout.decode()
                    .strip()
                )

            deadline = time.time() + 60
            while health() != "healthy" and time.time() < deadline:
                time.sleep(1)
            assert health() == "healthy"
            assert anyio.run(whisper_through, port) == "from outside"
        finally:
            docker_engine.docker("stop", "-t", "10", container, check=False)
            status = docker_engine.docker("wait", container, check=False).stdout.decode().strip()
            logs = docker_engine.docker("logs", container, check=False)
            docker_engine.docker("rm", "-f", container, check=False)
    out = logs.stdout.decode() + logs.stderr.decode()
    assert status == "0", out
    # in a container each line has its time (UTC) and level, for docker logs and log collectors
    stamped = (
        rf"^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z INFO  > Start streaming server \(stateless\) on port {port}$"
    )
    assert re.search(stamped, out, re.MULTILINE), out
    assert "Traceback" not in out and "Read-only file system" not in out, out


def test_a_gateway_in_a_container_and_one_on_the_host_leave_each_other_s_containers_alone(
    request, docker_engine, gateway_image, tmp_path
):
    """The engine's socket mounted into the gateway's container (and the docker CLI, which it runs its
    container servers with): at start each gateway removes what killed gateways left, and neither takes
    the other's live server container for one: their PIDs are in different PID namespaces. The
    containerized gateway's own containers go when it stops."""
    import os
    import shutil

    from tests.e2e.test_gateway_http import start_gateway, stop

    user = request.getfixturevalue("engine_user")
    image = request.getfixturevalue("images")["time"]
    socket_path = docker_engine.host.removeprefix("unix://")
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(f"name: c\nregistry:\n  time:\n    type: server\n    image: {image}\n    longLived: true\n")

    def servers(gateway: str | None = None) -> list[str]:
        return docker_engine.containers("label=docker-mcp-name=time", *([f"label={gateway}"] if gateway else []))

    host_port, container_port = free_port(), free_port()
    args = ("--servers", "time", "--stateless", "--long-lived")
    host = start_gateway(user, "streaming", host_port, *args, token=GATEWAY_TOKEN)
    container = None
    try:
        [host_server] = servers()
        run = [
            "run", "-d", "--network", "host",
            "-v", f"{socket_path}:/var/run/docker.sock", "--group-add", str(os.stat(socket_path).st_gid),
            "-v", f"{shutil.which('docker')}:/usr/local/bin/docker:ro",
            "-e", "DOCKER_HOST=unix:///var/run/docker.sock",
            "-e", f"MCP_GATEWAY_AUTH_TOKEN={GATEWAY_TOKEN}", "-e", f"MCP_GATEWAY_PORT={container_port}",
            "-v", f"{catalog}:/catalog.yaml:ro",
            gateway_image, "--catalog", "/catalog.yaml", "--transport", "streaming", *args,
        ]  # fmt: skip
        container = docker_engine.docker(*run).stdout.decode().strip()
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                r = requests.get(f"http://127.0.0.1:{container_port}/ready", timeout=1)
                if r.status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        else:
            raise AssertionError(docker_engine.docker("logs", container, check=False).stderr.decode())
        assert host_server in servers(), "the containerized gateway removed the host gateway's live container"
        assert len(servers()) == 2
        # a gateway starting on the host now sees the containerized one's container: not its to remove
        r = user.docker("mcp", "gateway", "run", "--servers", "time", "--dry-run")
        assert r.returncode == 0 and "Removed" not in r.stderr, r.stderr
        assert len(servers()) == 2
        for port in (host_port, container_port):
            assert call_time(port) != ""
    finally:
        if container is not None:
            docker_engine.docker("stop", "-t", "10", container, check=False)
            logs = docker_engine.docker("logs", container, check=False)
            docker_engine.docker("rm", "-f", container, check=False)
            print(logs.stderr.decode())
        remaining = servers()
        print(stop(host))
    assert remaining == [host_server]  # the containerized gateway removed its own, and only that


def call_time(port: int) -> str:
    async def body() -> str:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {GATEWAY_TOKEN}"}) as http,
            streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            result = await session.call_tool("get_current_time", {"timezone": "UTC"})
            assert not result.is_error, result.content
            return result.content[0].text

    return anyio.run(body)
