"""The operator's way: the gateway itself in a container on a real Docker engine, as Compose runs it —
the built zipapp in an image with Python, DOCKER_MCP_IN_CONTAINER=1, its catalog mounted as a file, a
Docker secret mounted under /run/secrets — serving streamable HTTP to an MCP client outside the
container, in front of a remote server that wants an API key from that secret."""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import AsyncIterator

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
from tests.e2e.test_oauth_client_credentials import protected  # noqa: F401  (fixture)
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


def wait_until_answered(engine, container: str, port: int, path: str, timeout: float = 60) -> None:
    """Poll GET `path` on the gateway in `container` until it answers 200; after `timeout` seconds,
    AssertionError with the container's log."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError(engine.docker("logs", container, check=False).stderr.decode())


@contextlib.asynccontextmanager
async def gateway_session(port: int) -> AsyncIterator[ClientSession]:
    """An MCP SDK client session outside the container, through the gateway's streamable HTTP front."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {GATEWAY_TOKEN}"}) as http,
        streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def whisper_through(port: int) -> str:
    """An MCP SDK client outside the container: initialize, list the tools, call whisper through the gateway."""
    async with gateway_session(port) as session:
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
            wait_until_answered(docker_engine, container, port, "/health")

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
            wait_until_answered(docker_engine, container, port, "/health")
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
        wait_until_answered(docker_engine, container, container_port, "/ready", timeout=90)
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
        async with gateway_session(port) as session:
            result = await session.call_tool("get_current_time", {"timezone": "UTC"})
            assert not result.is_error, result.content
            return result.content[0].text

    return anyio.run(body)


def test_an_oauth_server_authorized_on_the_host_is_served_from_a_container_with_its_export(
    oauth_user, docker_engine, gateway_image, tmp_path
):
    """`docker mcp oauth authorize` on the host (a pre-registered client of oidc-provider, 4 s access
    tokens), `docker mcp oauth export` into a file given to the container as the Docker secret
    protected.oauth, the client secret as protected.client_secret, a state volume: the gateway in the
    container calls the protected server, renews the expired token there (kept in the state volume),
    and the export never holds the client secret."""
    import stat

    from tests.e2e.oauth_support import remote_entry
    from tests.e2e.test_gateway_oauth import SECRET, oidc_client
    from tests.helpers.oidc import resource_server_client, start_oidc
    from tests.servers.mcp_remote import RemoteMcpServer

    callback, port = free_port(), free_port()
    remote = RemoteMcpServer(auth="oidc")
    client = oidc_client(callback)
    config = {"resource": remote.resource, "clients": [client, resource_server_client()], "accessTokenTTL": 4}
    with start_oidc(tmp_path, config) as oidc:
        remote.issuer, remote.introspection_client = oidc.issuer, resource_server_client()
        with remote:
            entry = remote_entry("protected", remote.url, client_id="gateway-app", secret=True)
            oauth_user.import_server(entry)
            oauth_user.ok("mcp", "secret", "set", "protected.client_secret", input=SECRET)
            assert oauth_user.authorize("protected", callback).returncode == 0
            export = tmp_path / "protected.oauth"
            r = oauth_user.docker("mcp", "oauth", "export", "protected", "-o", str(export))
            assert r.returncode == 0, r.stderr
            assert "docker secret create protected.oauth" in r.stdout
            assert stat.S_IMODE(export.stat().st_mode) == 0o600 and SECRET not in export.read_text()
            _, first = oauth_user.stored("protected")
            assert first.access_token not in r.stdout + r.stderr
            # as Swarm mounts secrets: root's, mode 0444; the state volume the gateway's user writes
            secrets_dir, state = tmp_path / "secrets", tmp_path / "state"
            secrets_dir.mkdir()
            state.mkdir(mode=0o777)
            state.chmod(0o777)
            (secrets_dir / "protected.oauth").write_text(export.read_text())
            (secrets_dir / "protected.client_secret").write_text(SECRET + "\n")
            for f in secrets_dir.iterdir():
                f.chmod(0o444)
            catalog = tmp_path / "catalog.yaml"
            catalog.write_text(
                "name: ops\nregistry:\n  protected:\n" + "".join(f"    {line}\n" for line in entry.splitlines()[1:])
            )
            run = [
                "run", "-d", "--network", "host", "-e", "DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS=1",
                "-e", f"MCP_GATEWAY_AUTH_TOKEN={GATEWAY_TOKEN}", "-e", f"MCP_GATEWAY_PORT={port}",
                "-e", "DOCKER_MCP_STATE_DIR=/state", "-v", f"{state}:/state",
                "-v", f"{secrets_dir}:/run/secrets:ro", "-v", f"{catalog}:/catalog.yaml:ro",
                gateway_image, "--catalog", "/catalog.yaml", "--servers", "protected", "--transport", "streaming",
            ]  # fmt: skip
            container = docker_engine.docker(*run).stdout.decode().strip()
            try:
                wait_until_answered(docker_engine, container, port, "/ready")

                async def calls() -> None:
                    async with gateway_session(port) as session:
                        who = await session.call_tool("remote_whoami", {})
                        assert not who.is_error, who.content
                        assert who.structured_content["client_id"] == "gateway-app"
                        await anyio.sleep(5)  # the exported access token has expired now
                        again = await session.call_tool("remote_echo", {"text": "renewed in the container"})
                        assert not again.is_error, again.content
                        assert again.content[0].text == "renewed in the container"

                anyio.run(calls)
                renewed = [json.loads(p.read_text()) for p in state.iterdir() if p.suffix == ".json"]
                assert [e["username"] for e in renewed] == ["oauth2_protected"], renewed
                assert first.access_token not in json.dumps(renewed)  # a new token, kept in the volume
            finally:
                docker_engine.docker("stop", "-t", "10", container, check=False)
                logs = docker_engine.docker("logs", container, check=False)
                docker_engine.docker("rm", "-f", container, check=False)
    out = logs.stdout.decode() + logs.stderr.decode()
    assert remote.tokens_seen >= 2, out
    for planted in (SECRET, first.access_token, first.refresh_token, GATEWAY_TOKEN):
        assert planted not in out


def test_a_machine_client_gets_its_tokens_itself_in_a_container(
    request, oauth_user, docker_engine, gateway_image, tmp_path
):
    """A client_credentials client (SEP-1046) needs no export: the gateway in the container gets the
    first token with the client secret from /run/secrets, and a new one when it expires (4 s), with no
    state volume (kept in memory) and no browser anywhere."""
    from tests.e2e.test_oauth_client_credentials import SECRET, machine_client, machine_entry

    oidc, remote = request.getfixturevalue("protected")(
        [machine_client(client_secret=SECRET, token_endpoint_auth_method="client_secret_basic")], ttl=4
    )
    entry = machine_entry(remote.url, "clientSecret: machine.client_secret", secrets_=("machine.client_secret",))
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "name: ops\nregistry:\n  machine:\n" + "".join(f"    {line}\n" for line in entry.splitlines()[1:])
    )
    secret = tmp_path / "machine.client_secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o444)
    port = free_port()
    run = [
        "run", "-d", "--network", "host", "--read-only", "-e", "DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS=1",
        "-e", f"MCP_GATEWAY_AUTH_TOKEN={GATEWAY_TOKEN}", "-e", f"MCP_GATEWAY_PORT={port}",
        "-v", f"{secret}:/run/secrets/machine.client_secret:ro", "-v", f"{catalog}:/catalog.yaml:ro",
        gateway_image, "--catalog", "/catalog.yaml", "--servers", "machine", "--transport", "streaming",
    ]  # fmt: skip
    container = docker_engine.docker(*run).stdout.decode().strip()
    try:
        wait_until_answered(docker_engine, container, port, "/ready")

        async def calls() -> list[str]:
            async with gateway_session(port) as session:
                seen = []
                for _ in range(2):
                    who = await session.call_tool("remote_whoami", {})
                    assert not who.is_error, who.content
                    seen.append(who.structured_content["client_id"])
                    await anyio.sleep(5)  # past the token's 4 s
                return seen

        assert anyio.run(calls) == ["machine", "machine"]
    finally:
        docker_engine.docker("stop", "-t", "10", container, check=False)
        logs = docker_engine.docker("logs", container, check=False)
        docker_engine.docker("rm", "-f", container, check=False)
    out = logs.stdout.decode() + logs.stderr.decode()
    grants = [e for e in oidc.requests() if e["path"] == "/token" and e["method"] == "POST"]
    assert len(grants) >= 2 and all(e["status"] == 200 for e in grants), grants  # the first token, then a new one
    assert oidc.count("/auth") == 0
    assert SECRET not in out
