"""The gateway running container servers on a real Docker engine: the MCP project's time server and a
fault-injecting server, through the built zipapp and the docker CLI, spoken to by the MCP SDK client."""

from __future__ import annotations

import json
import os
import time

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.e2e.conftest import DOCKER
from tests.helpers.mcp_images import ensure_faults_image, ensure_time_image

PLANTED = "PLANTED-container-secret-8080"


@pytest.fixture(scope="module")
def images(docker_engine):
    return {"time": ensure_time_image(docker_engine), "faults": ensure_faults_image(docker_engine)}


@pytest.fixture
def engine_user(plugin, docker_engine, images, tmp_path):
    plugin.env.update(docker_engine.env({}))
    catalog = tmp_path / "local.yaml"
    catalog.write_text(
        f"""name: local
registry:
  time:
    type: server
    image: {images["time"]}
    command: ["--local-timezone={{{{time.zone}}}}"]
  faults:
    type: server
    image: {images["faults"]}
    secrets:
      - name: faults.api_key
        env: FAULTS_API_KEY
    env:
      - name: FAULT
        value: "{{{{faults.mode}}}}"
  crashing:
    type: server
    image: {images["faults"]}
    env:
      - name: FAULT
        value: exit-mid-call
"""
    )
    assert plugin.docker("mcp", "catalog", "import", str(catalog)).returncode == 0
    assert plugin.docker("mcp", "config", "write", "time: {zone: UTC}\nfaults: {mode: slow}").returncode == 0
    return plugin


def labelled(engine) -> list[str]:
    return engine.containers("label=docker-mcp=true")


async def with_gateway(env, args, body):
    params = StdioServerParameters(command=DOCKER, args=["mcp", "gateway", "run", *args], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return await body(session)


def test_time_server_answers_through_the_gateway_and_no_container_is_left(engine_user, docker_engine):
    r = engine_user.docker("mcp", "gateway", "run", "--servers", "time", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "> time: 2 tools: convert_time, get_current_time" in r.stderr

    async def body(session):
        result = await session.call_tool("get_current_time", {"timezone": "UTC"})
        assert not result.is_error, result.content
        answer = json.loads(result.content[0].text)
        assert answer["timezone"] == "UTC" and answer["datetime"].startswith(time.strftime("%Y-%m-%d", time.gmtime()))

    anyio.run(with_gateway, engine_user.env, ["--servers", "time", "--long-lived"], body)
    deadline = time.time() + 20
    while labelled(docker_engine) and time.time() < deadline:
        time.sleep(0.2)
    assert labelled(docker_engine) == []


def test_a_secret_reaches_the_container_environment_but_never_an_argv(engine_user, docker_engine):
    env = {**engine_user.env, "FAULTS_API_KEY": PLANTED}  # the resolver's environment source
    seen_argv: list[str] = []

    async def body(session):
        async def read_process_list():
            await anyio.sleep(2)  # the slow tool's container is running now
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        with open(f"/proc/{pid}/cmdline", "rb") as f:
                            seen_argv.append(f.read().replace(b"\0", b" ").decode(errors="replace"))
                    except OSError:
                        pass

        async with anyio.create_task_group() as tg:
            tg.start_soon(read_process_list)
            result = await session.call_tool("echo-env", {"name": "FAULTS_API_KEY"})
        assert not result.is_error and result.content[0].text == PLANTED

    anyio.run(with_gateway, env, ["--servers", "faults", "--long-lived"], body)
    runs = [a for a in seen_argv if " run " in a and "docker-mcp=true" in a]
    assert runs, "the docker run of the faults server was not seen"
    assert all(PLANTED not in a for a in seen_argv)
    assert any(" -e FAULTS_API_KEY " in a for a in runs)


def test_a_crashing_server_fails_that_call_and_the_next_call_to_a_healthy_one_works(engine_user):
    async def body(session):
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"get_current_time", "echo"} <= names
        crashed = await session.call_tool("echo", {"text": "x"})  # the crashing server's echo: it exits
        assert crashed.is_error
        ok = await session.call_tool("get_current_time", {"timezone": "UTC"})
        assert not ok.is_error

    anyio.run(with_gateway, engine_user.env, ["--servers", "crashing,time"], body)


def test_faulty_servers_are_reported_and_the_healthy_one_is_served(engine_user, images, tmp_path):
    catalog = tmp_path / "faulty.yaml"
    entries = "".join(
        f"""  {name}:
    type: server
    image: {images["faults"]}
    env:
      - name: FAULT
        value: {fault}
"""
        for name, fault in (("silent", "no-initialize"), ("garbage", "garbage"))
    )
    catalog.write_text("name: faulty\nregistry:\n" + entries)
    assert engine_user.docker("mcp", "catalog", "import", str(catalog)).returncode == 0
    r = engine_user.docker(
        "mcp",
        "gateway",
        "run",
        "--servers",
        "silent,garbage,time",
        "--dry-run",
        env={"DOCKER_MCP_CONNECT_TIMEOUT": "8"},
    )
    assert r.returncode == 0, r.stderr
    assert "! silent: no answer to initialize within 8 s" in r.stderr
    assert "! garbage: " in r.stderr
    assert "> time: 2 tools" in r.stderr


def test_containers_left_by_a_killed_gateway_are_removed_at_the_next_start(engine_user, docker_engine, images):
    import subprocess as sp

    finished = sp.Popen(["true"])
    finished.wait()  # a pid that no longer runs: the "killed gateway"
    orphan = f"{finished.pid}-deadbeef"
    alive = f"{os.getpid()}-cafe"  # a gateway still running (this test) keeps its containers
    for owner in (orphan, alive):
        docker_engine.docker(
            "run", "-d", "-i", "-l", "docker-mcp=true", "-l", f"docker-mcp-gateway={owner}", images["time"]
        )
    assert len(labelled(docker_engine)) == 2
    r = engine_user.docker("mcp", "gateway", "run", "--servers", "time", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "> Removed 1 containers left by a gateway that was killed" in r.stderr
    remaining = docker_engine.containers(f"label=docker-mcp-gateway={alive}")
    assert len(remaining) == 1 and docker_engine.containers(f"label=docker-mcp-gateway={orphan}") == []
    docker_engine.docker("rm", "-f", *remaining)
