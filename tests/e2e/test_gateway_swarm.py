"""Operate at scale (issue 15): the gateway as a Docker Swarm service of two stateless replicas, deployed
with `docker stack deploy` from the stack file docs/gateway.md shows (tests/e2e/gateway-stack.yml), on the
test engine: the image built from the repository's Dockerfile, the clients' token a Docker secret, the
catalog a Docker config, a remote MCP server (the MCP SDK's, one `echo` tool) a service beside it.

This engine has no iptables, so Swarm's ingress routing mesh (published ports) does not work here: the
client reaches the replicas from inside the stack's overlay network, as a container attached to it. The
gateway service uses `endpoint_mode: dnsrr`, so `tasks.gateway` resolves to every replica, and the
client (the MCP SDK's, in the test image's Python) sends each request to the next replica in turn: the
worst case of a balancer spreading requests. It reports what it saw as one JSON line."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.e2e.test_gateway_in_container import GATEWAY_TOKEN, gateway_image  # noqa: F401  (fixture)
from tests.helpers.mcp_images import ensure_time_image

STACK_FILE = Path(__file__).with_name("gateway-stack.yml")
STACK = "mcp"

BACKEND = """
import uvicorn
from mcp.server.mcpserver import MCPServer

server = MCPServer("echo")


@server.tool()
def echo(text: str) -> str:
    return text


uvicorn.run(server.streamable_http_app(host="0.0.0.0"), host="0.0.0.0", port=8000, log_level="warning")
"""

CATALOG = """name: ops
registry:
  echo:
    type: remote
    remote:
      url: http://backend:8000/mcp
"""

# The client, in a container on the overlay: `calls` tools/call echo, each request of the session to the
# next replica (tasks.gateway resolved again for each request), a call that fails recorded with its error.
CLIENT = """
import json, socket, sys, time
import anyio, httpx2 as httpx
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

calls, pause = int(sys.argv[1]), float(sys.argv[2])
token = open("/run/token").read().strip()
seen, sent = {}, [0]

class Alternating(httpx.AsyncBaseTransport):
    def __init__(self):
        self.inner = httpx.AsyncHTTPTransport()
    async def handle_async_request(self, request):
        replicas = sorted({a[4][0] for a in socket.getaddrinfo("tasks.gateway", 8811, type=socket.SOCK_STREAM)})
        host = replicas[sent[0] % len(replicas)]
        sent[0] += 1
        seen[host] = seen.get(host, 0) + 1
        request.url = request.url.copy_with(host=host)
        return await self.inner.handle_async_request(request)

async def main():
    ok, failed = 0, []
    http = httpx.AsyncClient(transport=Alternating(), headers={"Authorization": "Bearer " + token}, timeout=30)
    async with streamable_http_client("http://gateway:8811/mcp", http_client=http) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            for i in range(calls):
                try:
                    with anyio.fail_after(30):
                        result = await session.call_tool("echo", {"text": f"call {i}"})
                    if result.is_error or result.content[0].text != f"call {i}":
                        failed.append(f"{i}: {result.content}")
                    else:
                        ok += 1
                except Exception as e:
                    failed.append(f"{i}: {type(e).__name__}: {e}")
                await anyio.sleep(pause)
    print(json.dumps({"ok": ok, "failed": failed, "replicas": seen}))

anyio.run(main)
"""


@pytest.fixture
def swarm(docker_engine):
    docker_engine.docker("swarm", "leave", "--force", check=False)  # what a killed run may have left
    docker_engine.docker("swarm", "init", "--advertise-addr", "127.0.0.1")
    yield docker_engine
    docker_engine.docker("stack", "rm", STACK, check=False)
    docker_engine.docker("swarm", "leave", "--force", check=False)


def wait_for(what: str, probe, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not probe():
        if time.time() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(1)


def test_two_stateless_replicas_behind_swarm_serve_every_call_and_a_rolling_update(request, swarm, tmp_path):
    engine = swarm
    image = request.getfixturevalue("gateway_image")
    test_image = ensure_time_image(engine)
    token = tmp_path / "token"
    token.write_text(GATEWAY_TOKEN)
    engine.docker("secret", "create", "gateway_token", str(token))
    (tmp_path / "catalog.yaml").write_text(CATALOG)
    engine.docker("config", "create", "gateway_catalog", str(tmp_path / "catalog.yaml"))
    (tmp_path / "backend.py").write_text(BACKEND)
    engine.docker("config", "create", "echo_backend", str(tmp_path / "backend.py"))
    env = engine.env(GATEWAY_IMAGE=image, TEST_IMAGE=test_image)
    engine.docker("stack", "deploy", "-c", str(STACK_FILE), STACK, env=env)

    def running(service: str) -> int:
        r = engine.docker("service", "ls", "--filter", f"name={STACK}_{service}", "--format", "{{.Replicas}}")
        return int(r.stdout.decode().strip().split("/")[0] or 0)

    wait_for(
        "two gateway replicas and the backend running", lambda: running("gateway") == 2 and running("backend") == 1
    )
    network = f"{STACK}_mcp"
    client = tmp_path / "client.py"
    client.write_text(CLIENT)

    def calls(count: int, pause: float) -> dict:
        r = engine.docker(
            "run", "--rm", "--network", network, "--entrypoint", "/opt/mcp/bin/python",
            "-v", f"{client}:/client.py:ro", "-v", f"{token}:/run/token:ro",
            test_image, "/client.py", str(count), str(pause), check=False, timeout=300,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr.decode()[-3000:]
        return json.loads(r.stdout.decode().strip().splitlines()[-1])

    # wait until both replicas answer (each becomes ready on its own)
    seen = calls(50, 0)
    print("50 calls:", seen)
    assert seen["ok"] == 50 and seen["failed"] == [], seen
    assert len(seen["replicas"]) == 2, seen

    # a rolling update (start-first) while calls go on: every call succeeds or is reported
    import threading

    box: dict = {}
    runner = threading.Thread(target=lambda: box.update(calls(100, 0.3)))
    runner.start()
    time.sleep(2)
    started = time.monotonic()
    engine.docker("service", "update", "--force", "--detach=false", f"{STACK}_gateway", timeout=300)
    print(f"rolling update of 2 replicas: {time.monotonic() - started:.1f} s")
    runner.join(timeout=300)
    print("100 calls during the update:", box)
    assert box["ok"] + len(box["failed"]) == 100, box
    assert len(box["replicas"]) >= 3, box  # the update's new replicas answered some
    # Each task's container logs, read one by one: `docker service logs` without --follow can hang
    # once a rolling update has shut tasks down (seen in CI: no end after 600 s, moby/moby#38640).
    tasks = (
        engine.docker("ps", "-aq", "--filter", f"label=com.docker.swarm.service.name={STACK}_gateway")
        .stdout.decode()
        .split()
    )
    assert len(tasks) >= 4, tasks  # two replicas before the update, two after
    text = ""
    for task in tasks:
        logs = engine.docker("logs", task, check=False, timeout=60)
        text += logs.stdout.decode() + logs.stderr.decode()
    assert "Calling tool echo" in text  # the logs were read
    assert GATEWAY_TOKEN not in text
    inspect = engine.docker("service", "inspect", f"{STACK}_gateway").stdout.decode()
    assert GATEWAY_TOKEN not in inspect  # a Docker secret, not an environment variable


def test_the_docs_show_the_stack_file_the_test_deploys():
    docs = (Path(__file__).parents[2] / "docs" / "gateway.md").read_text()
    assert "```yaml\n" + STACK_FILE.read_text() + "```\n" in docs
