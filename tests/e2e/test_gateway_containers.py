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
    """Only a container whose gateway PID no longer runs in this PID namespace on this machine is an
    orphan. A gateway in another namespace (a container) or on another machine, whose PID this one
    cannot see, keeps its containers, as does one without the namespace label."""
    import subprocess as sp

    from docker_mcp.gateway.containers import NAMESPACE_LABEL, pid_namespace

    finished = sp.Popen(["true"])
    finished.wait()  # a pid that no longer runs: the "killed gateway"
    here = pid_namespace()
    owners = {
        "orphan": (f"{finished.pid}-deadbeef", here),
        "alive": (f"{os.getpid()}-cafe", here),  # a gateway still running (this test) keeps its containers
        "elsewhere": (f"{finished.pid}-0ther", here.split("/")[0] + "/4026530000"),  # another PID namespace
        "unlabelled": (f"{finished.pid}-01d", None),
    }
    for owner, where in owners.values():
        labels = ["-l", "docker-mcp=true", "-l", f"docker-mcp-gateway={owner}"]
        labels += ["-l", f"{NAMESPACE_LABEL}={where}"] if where else []
        docker_engine.docker("run", "-d", "-i", *labels, images["time"])
    assert len(labelled(docker_engine)) == 4
    r = engine_user.docker("mcp", "gateway", "run", "--servers", "time", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "> Removed 1 containers left by a gateway that was killed" in r.stderr
    left = {name: docker_engine.containers(f"label=docker-mcp-gateway={owner}") for name, (owner, _) in owners.items()}
    assert {name: len(ids) for name, ids in left.items()} == {"orphan": 0, "alive": 1, "elsewhere": 1, "unlabelled": 1}
    docker_engine.docker("rm", "-f", *(i for ids in left.values() for i in ids))


def import_switchable(user, images, tmp_path):
    """A faults server whose mode a file in a mounted volume sets, read by each (per-call) container."""
    state = tmp_path / "fault-state"
    state.mkdir()
    (state / "mode").write_text("none")
    catalog = tmp_path / "switchable.yaml"
    catalog.write_text(
        f"""name: switchable
registry:
  switchable:
    type: server
    image: {images["faults"]}
    volumes:
      - {state}:/fault
    env:
      - name: FAULT_FILE
        value: /fault/mode
"""
    )
    assert user.docker("mcp", "catalog", "import", str(catalog)).returncode == 0
    return state / "mode"


def test_a_server_failing_in_a_calls_own_container_fails_only_that_call(engine_user, images, tmp_path):
    """Per-call containers: the server listed its tools at start, then its next container never answers
    initialize, answers garbage, or exits mid-call; each fails that call, and the time server still
    answers the next one."""
    mode = import_switchable(engine_user, images, tmp_path)

    async def body(session):
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"echo", "get_current_time"} <= names
        healthy = await session.call_tool("echo", {"text": "first"})
        assert not healthy.is_error and healthy.content[0].text == "first"
        seen = {}
        for fault in ("no-initialize", "garbage", "exit-mid-call"):
            mode.write_text(fault)
            failed = await session.call_tool("echo", {"text": "x"})
            assert failed.is_error, (fault, failed.content)
            seen[fault] = failed.content[0].text
            ok = await session.call_tool("get_current_time", {"timezone": "UTC"})
            assert not ok.is_error, (fault, ok.content)
        mode.write_text("none")
        again = await session.call_tool("echo", {"text": "again"})
        assert not again.is_error and again.content[0].text == "again"
        return seen

    env = {**engine_user.env, "DOCKER_MCP_CONNECT_TIMEOUT": "5"}
    seen = anyio.run(with_gateway, env, ["--servers", "switchable,time"], body)
    assert all(text.startswith("switchable: ") for text in seen.values()), seen
    assert seen["no-initialize"] == "switchable: no answer to initialize within 5 s"


def test_long_lived_servers_get_one_container_per_http_client_session(engine_user, docker_engine, images, tmp_path):
    """--long-lived behind the streamable HTTP front: a client session keeps its container across calls,
    another session gets another container, and a session's container goes when the session ends."""
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    from tests.e2e.oauth_support import free_port
    from tests.e2e.test_gateway_http import TOKEN, start_gateway, stop

    import_switchable(engine_user, images, tmp_path)
    port = free_port()
    gateway = start_gateway(engine_user, "streaming", port, "--servers", "switchable", "--long-lived")
    url = f"http://127.0.0.1:{port}/mcp"

    async def hostnames(calls: int) -> list[str]:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            out = []
            for _ in range(calls):
                result = await session.call_tool("echo-env", {"name": "HOSTNAME"})  # the container's ID
                assert not result.is_error, result.content
                out.append(result.content[0].text)
            return out

    try:
        first = anyio.run(hostnames, 3)
        second = anyio.run(hostnames, 2)
        assert len(set(first)) == 1 and len(set(second)) == 1, (first, second)
        assert first[0] != second[0]
        deadline = time.time() + 20  # both sessions ended: their containers stop and are removed (--rm)
        while labelled(docker_engine) and time.time() < deadline:
            time.sleep(0.2)
        assert labelled(docker_engine) == []
    finally:
        stop(gateway)
