"""The Docker test harness itself: a real dockerd (tests/helpers/docker_engine.py) runs the locally built
MCP server images (tests/helpers/mcp_images.py) the way the gateway runs servers, and the MCP SDK's stdio
client speaks MCP to them through `docker run -i`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.types import TextContent

from tests.helpers.docker_engine import DockerEngine, dockerds_using, engine_for_session, stop_session_engine
from tests.helpers.mcp_images import FAULTS_IMAGE, TIME_IMAGE, BuildReport, ensure_faults_image, ensure_time_image

T = TypeVar("T")
LABEL = "docker-mcp=true"
# What the gateway passes to `docker run` for each server (network none: these servers need none).
RUN_FLAGS = ["run", "--rm", "-i", "--init", "--security-opt", "no-new-privileges", "--cpus", "1", "--memory", "2g",
             "--network", "none", "-l", LABEL]  # fmt: skip
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    engine = engine_for_session()
    print(
        f"\n[docker harness] engine {engine.server_version} ({engine.storage_driver}) up in "
        f"{engine.start_seconds:.2f} s at {engine.host}"
    )
    yield engine
    stop_session_engine()


@pytest.fixture(scope="session")
def mcp_images(docker_engine: DockerEngine) -> dict[str, str]:
    report = BuildReport()
    started = time.monotonic()
    images = {"time": ensure_time_image(docker_engine, report), "faults": ensure_faults_image(docker_engine, report)}
    print(
        f"[docker harness] images ready in {time.monotonic() - started:.1f} s, steps {report.steps or 'none (cached)'}"
    )
    return images


def labelled_containers(engine: DockerEngine, wait: float = 20.0) -> list[str]:
    """Containers labelled docker-mcp=true, after giving `--rm` up to `wait` s to remove them."""
    deadline = time.monotonic() + wait
    while True:
        found = engine.containers(f"label={LABEL}")
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def run_session(
    engine: DockerEngine,
    tmp_path: Path,
    docker_args: list[str],
    body: Callable[[ClientSession], Awaitable[T]],
    env: dict[str, str] | None = None,
) -> T:
    """`docker run …` under the SDK's stdio client: initialize, then body(session)."""
    params = StdioServerParameters(
        command="docker", args=[*RUN_FLAGS, *docker_args], env={"DOCKER_HOST": engine.host, **(env or {})}
    )

    async def main() -> T:
        with open(tmp_path / "server-stderr.log", "w+") as errlog:
            started = time.monotonic()
            try:
                async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
                    with anyio.fail_after(60):
                        result = await session.initialize()
                    print(
                        f"[docker harness] {docker_args[-1]}: initialize answered in {time.monotonic() - started:.2f} s"
                    )
                    assert result.server_info.name
                    return await body(session)
            except BaseException:
                errlog.seek(0)
                print(f"server stderr:\n{errlog.read()}", file=sys.stderr)
                raise
            finally:
                print(f"[docker harness] {docker_args[-1]}: session closed after {time.monotonic() - started:.2f} s")

    return anyio.run(main)


def text_of(result: Any) -> str:
    assert result.content and isinstance(result.content[0], TextContent), result
    return result.content[0].text


def test_engine_answers_on_a_short_socket(docker_engine: DockerEngine) -> None:
    assert docker_engine.host.startswith("unix:///tmp/dmcp-dockerd-")
    assert len(docker_engine.socket_path) < 100
    info = json.loads(docker_engine.docker("info", "--format", "{{json .}}").stdout)
    assert info["Driver"] == docker_engine.storage_driver
    assert info["DockerRootDir"] == str(docker_engine.data_root)
    assert docker_engine.env()["DOCKER_HOST"] == docker_engine.host
    # The docker CLI on PATH reaches it through DOCKER_HOST alone.
    version = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        env=docker_engine.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == docker_engine.server_version


def test_a_second_engine_on_the_same_data_root_is_refused(docker_engine: DockerEngine) -> None:
    other = DockerEngine(docker_engine.purpose)
    with pytest.raises(Exception, match="in use") as excinfo:
        other.start()
    assert str(docker_engine.data_root) in str(excinfo.value)
    assert other.pid is None


def test_a_vfs_engine_starts_beside_it() -> None:
    """vfs is the fallback where overlayfs is missing: it starts too, on a data root of its own."""
    with DockerEngine("harness", storage_driver="vfs") as engine:
        assert engine.data_root.name == "harness-vfs"
        assert engine.docker("info", "--format", "{{.Driver}}").stdout.decode().strip() == "vfs"
        assert dockerds_using(engine.data_root) == [engine.pid]
    assert dockerds_using(engine.data_root) == []
    assert engine.run_dir is None and engine.pid is None


def test_time_server_answers_through_docker_run(
    docker_engine: DockerEngine, mcp_images: dict[str, str], tmp_path: Path
) -> None:
    async def body(session: ClientSession) -> None:
        tools = await session.list_tools()
        assert "get_current_time" in {tool.name for tool in tools.tools}
        result = await session.call_tool("get_current_time", {"timezone": "UTC"})
        assert not result.is_error, result
        answer = json.loads(text_of(result))
        assert answer["timezone"] == "UTC"
        when = datetime.fromisoformat(answer["datetime"])
        assert abs((when - datetime.now(UTC)).total_seconds()) < 300

    run_session(docker_engine, tmp_path, [mcp_images["time"]], body)
    assert mcp_images["time"] == TIME_IMAGE
    assert labelled_containers(docker_engine) == []


def test_faults_server_echoes_and_sees_a_secret_passed_by_name(
    docker_engine: DockerEngine, mcp_images: dict[str, str], tmp_path: Path
) -> None:
    secret = f"s3cret-{os.getpid()}-{time.time_ns()}"

    async def body(session: ClientSession) -> None:
        tools = {tool.name for tool in (await session.list_tools()).tools}
        assert {"echo", "add", "echo-env"} <= tools
        assert text_of(await session.call_tool("echo", {"text": "hello docker"})) == "hello docker"
        added = await session.call_tool("add", {"a": 2, "b": 40})
        assert float(text_of(added)) == 42
        assert text_of(await session.call_tool("echo-env", {"name": "DMCP_TEST_SECRET"})) == secret
        assert text_of(await session.call_tool("echo-env", {"name": "FAULT"})) == "none"
        missing = await session.call_tool("echo-env", {"name": "DMCP_NOT_SET"})
        assert missing.is_error and "DMCP_NOT_SET is not set" in text_of(missing)

    # `-e NAME` without a value: docker takes the value from the docker CLI's own environment.
    run_session(
        docker_engine,
        tmp_path,
        ["-e", "DMCP_TEST_SECRET", "-e", "FAULT=none", mcp_images["faults"]],
        body,
        env={"DMCP_TEST_SECRET": secret},
    )
    assert mcp_images["faults"] == FAULTS_IMAGE
    assert labelled_containers(docker_engine) == []


# --- the fault modes, with raw JSON-RPC lines (what a broken server puts on the wire) -------------------


class RawServer:
    """`docker run … mcp-faults:test` with FAULT set, stdout lines collected with their arrival times."""

    def __init__(self, engine: DockerEngine, fault: str) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            ["docker", *RUN_FLAGS, "-e", f"FAULT={fault}", FAULTS_IMAGE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=engine.env(),
        )
        self.lines: list[tuple[float, str]] = []
        self.errors: list[str] = []
        for stream, into in ((self.process.stdout, self.lines), (self.process.stderr, None)):
            threading.Thread(target=self._read, args=(stream, into), daemon=True).start()

    def _read(self, stream: Any, into: list[tuple[float, str]] | None) -> None:
        for raw in stream:
            line = raw.decode(errors="replace").rstrip("\n")
            if into is None:
                self.errors.append(line)
            else:
                into.append((time.monotonic(), line))

    def wait_started(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(line.startswith("mcp-faults: started") for line in self.errors):
            assert time.monotonic() < deadline and self.process.poll() is None, (self.errors, self.lines)
            time.sleep(0.05)

    def send(self, *messages: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
        self.process.stdin.flush()

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> tuple[float, str] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in list(self.lines):
                if predicate(entry[1]):
                    return entry
            time.sleep(0.05)
        return None

    def json_id(self, wanted: int) -> Callable[[str], bool]:
        def match(line: str) -> bool:
            try:
                message = json.loads(line)
                return isinstance(message, dict) and message.get("id") == wanted
            except ValueError:
                return False

        return match

    def initialize(self, timeout: float = 60) -> None:
        self.send(INITIALIZE)
        assert self.wait_for(self.json_id(1), timeout), self.lines
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def call(self, id: int, tool: str, arguments: dict[str, Any]) -> float:
        sent = time.monotonic()
        self.send(
            {"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
        )
        return sent

    def close(self) -> int:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()  # the docker CLI we started; --rm still removes the container
            return self.process.wait(10)


def check_fault(engine: DockerEngine, fault: str) -> None:
    server = RawServer(engine, fault)
    try:
        if fault == "exit-mid-call":
            server.initialize()
            server.call(2, "echo", {"text": "x"})
            assert server.process.wait(30) == 3
            assert server.wait_for(server.json_id(2), 0.5) is None
        elif fault == "slow":
            server.initialize()
            sent = server.call(2, "echo", {"text": "late"})
            answer = server.wait_for(server.json_id(2), 30)
            assert answer is not None and answer[0] - sent >= 4.9, server.lines
            assert json.loads(answer[1])["result"]["content"][0]["text"] == "late"
        elif fault == "noisy":
            server.initialize()
            server.call(2, "add", {"a": 1, "b": 2})
            assert server.wait_for(server.json_id(2), 30), server.lines
            assert any(line.startswith("mcp-faults noise") for _, line in server.lines)
        elif fault == "garbage":
            server.send(INITIALIZE)
            assert server.wait_for(lambda line: "not json" in line, 60), server.lines
            for _, line in server.lines:
                with pytest.raises(ValueError):
                    json.loads(line)
        elif fault == "no-initialize":
            # Started (its stderr says so), reads its input, and never answers.
            server.send(INITIALIZE)
            server.wait_started()
            time.sleep(3)
            assert server.process.poll() is None
            assert server.lines == []
        else:
            raise AssertionError(fault)
    finally:
        server.close()


def test_fault_modes_behave_as_documented(docker_engine: DockerEngine, mcp_images: dict[str, str]) -> None:
    faults = ["exit-mid-call", "slow", "noisy", "garbage", "no-initialize"]
    errors: dict[str, BaseException] = {}

    def run(fault: str) -> None:
        try:
            check_fault(docker_engine, fault)
        except BaseException as exc:
            errors[fault] = exc

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(fault,)) for fault in faults]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    print(f"[docker harness] {len(faults)} fault modes checked side by side in {time.monotonic() - started:.1f} s")
    for fault, exc in errors.items():
        raise AssertionError(f"FAULT={fault}: {exc!r}") from exc
    assert labelled_containers(docker_engine) == []
