"""How `docker mcp gateway run` (the built zipapp, through the real docker CLI and run standalone) starts
and stops, in front of a remote MCP server on loopback whose `hang` tool never answers:

- Ctrl-C on a terminal stops it at once (exit 130), a call in flight or not;
- SIGTERM, to the docker CLI (which closes the plugin socket) or to the plugin itself, ends it within
  front.STOP_GRACE seconds on every front although a backend call hangs, exit 0, and its clean-up runs;
  a call that finishes within the grace is answered first;
- a port in use, a host it cannot listen on, a port that is not one: one error line, no traceback;
- running out of file descriptors is one line on stderr, not a flood, and it serves again afterwards.

No Docker engine: the clean-up is seen by a stand-in engine API on a unix socket."""

from __future__ import annotations

import fcntl
import http.server
import json
import os
import pty
import re
import resource
import select
import signal
import socket
import socketserver
import subprocess
import termios
import threading
import time
from urllib.parse import parse_qs, urlsplit

import anyio
import pytest
import requests
from mcp.server.mcpserver import MCPServer

from docker_mcp.gateway.front import STOP_GRACE
from tests.e2e.conftest import DOCKER
from tests.e2e.oauth_support import free_port
from tests.e2e.test_gateway_remote import LoopbackApp, import_remote

TOKEN = "lifecycle-test-token-" + "y" * 20
EXIT_BOUND = STOP_GRACE + 10  # the grace, and generous slack for a loaded machine
PROTOCOL = "2025-06-18"


class HangingServer(LoopbackApp):
    """An MCP SDK server over streamable HTTP whose `hang` tool never answers and `slow` answers late."""

    def __init__(self) -> None:
        self.mcp = MCPServer("hang")

        @self.mcp.tool()
        async def hang(text: str) -> str:
            await anyio.sleep(3600)
            return text

        @self.mcp.tool()
        async def slow(seconds: float) -> str:
            await anyio.sleep(seconds)
            return f"slept {seconds}"

        super().__init__(self.mcp.streamable_http_app())


@pytest.fixture
def hanging(gateway_user, tmp_path):
    with HangingServer() as server:
        import_remote(gateway_user, tmp_path, "hang", server.url)
        yield server


def command(user, how: str, *args: str) -> list[str]:
    """`docker mcp gateway run ARGS` through the docker CLI, or the installed plugin run standalone."""
    if how == "docker-cli":
        return [DOCKER, "mcp", "gateway", "run", *args]
    return [os.path.join(user.config_dir, "cli-plugins", "docker-mcp"), "gateway", "run", *args]


class Gateway:
    """A gateway process whose stderr goes to a file, so that it can be read while it runs."""

    def __init__(self, user, tmp_path, argv: list[str], env: dict[str, str] | None = None, **popen) -> None:
        self.err_path = tmp_path / f"gateway-{time.monotonic_ns()}.err"
        with open(self.err_path, "wb") as err:  # the child keeps its own descriptor
            self.process = subprocess.Popen(argv, env={**user.env, **(env or {})}, stderr=err, **popen)

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.stderr():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in the gateway's stderr:\n{self.stderr()}")
            time.sleep(0.05)

    def exits_within(self, seconds: float) -> int:
        """The exit code, once the process has ended; fails (and kills it) if that takes longer."""
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"still running {seconds:.0f} s later:\n{self.stderr()}") from None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def close(self) -> None:
        self.kill()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


def message(id_: int | None, method: str, params: dict | None = None) -> dict:
    m: dict = {"jsonrpc": "2.0", "method": method}
    if id_ is not None:
        m["id"] = id_
    if params is not None:
        m["params"] = params
    return m


INITIALIZE = message(1, "initialize", {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}})  # fmt: skip
INITIALIZED = message(None, "notifications/initialized")


def call(tool: str, arguments: dict, id_: int = 2) -> dict:
    return message(id_, "tools/call", {"name": tool, "arguments": arguments})


def read_until(fd: int, pattern: bytes, timeout: float = 60) -> bytes:
    """Bytes from `fd` until `pattern` is among them."""
    seen = b""
    deadline = time.monotonic() + timeout
    while pattern not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no {pattern!r} within {timeout} s; got {seen[-2000:]!r}")
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # a terminal whose other side closed
            chunk = b""
        if not chunk:
            raise AssertionError(f"end of output before {pattern!r}; got {seen[-2000:]!r}")
        seen += chunk
    return seen


def no_traceback(err: str) -> None:
    assert "Traceback" not in err and "Exception in" not in err, err


# --- clients that leave a call hanging, one per front ---


class StdioCall:
    def __init__(self, gateway: Gateway, tool: str, arguments: dict) -> None:
        stdin, stdout = gateway.process.stdin, gateway.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write((json.dumps(INITIALIZE) + "\n").encode())
        stdin.flush()
        read_until(stdout.fileno(), b'"result"')
        for m in (INITIALIZED, call(tool, arguments)):
            stdin.write((json.dumps(m) + "\n").encode())
        stdin.flush()


class StreamingCall:
    """A streamable HTTP session (no GET stream) whose tools/call POST is read in a thread."""

    def __init__(self, port: int, tool: str, arguments: dict) -> None:
        self.url = f"http://127.0.0.1:{port}/mcp"
        self.headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json, text/event-stream"}
        r = requests.post(self.url, headers=self.headers, json=INITIALIZE, timeout=30)
        assert r.status_code == 200, r.text
        self.headers.update({"mcp-session-id": r.headers["mcp-session-id"], "mcp-protocol-version": PROTOCOL})
        requests.post(self.url, headers=self.headers, json=INITIALIZED, timeout=30)
        self.events: list[str] = []
        self.ended = threading.Event()
        self.error: str | None = None
        threading.Thread(target=self._call, args=(call(tool, arguments),), daemon=True).start()

    def _call(self, body: dict) -> None:
        try:
            with requests.post(self.url, headers=self.headers, json=body, stream=True, timeout=120) as r:
                self.events += [line.decode() for line in r.iter_lines() if line]
        except Exception as e:  # the test looks at what the client saw
            self.error = f"{type(e).__name__}: {e}"
        self.ended.set()


class SseCall:
    """A legacy SSE session: the GET /sse stream read in a thread, messages POSTed to its endpoint."""

    def __init__(self, port: int, tool: str, arguments: dict) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Bearer {TOKEN}"}
        self.events: list[str] = []
        self.ended = threading.Event()
        threading.Thread(target=self._listen, daemon=True).start()
        endpoint = self._wait_for("/messages/")
        self.post_url = self.base + endpoint.split("data: ", 1)[1]
        self._post(INITIALIZE)
        self._wait_for('"result"')
        self._post(INITIALIZED)
        self._post(call(tool, arguments))

    def _listen(self) -> None:
        try:
            with requests.get(self.base + "/sse", headers=self.headers, stream=True, timeout=120) as r:
                for line in r.iter_lines():
                    if line:
                        self.events.append(line.decode())
        except Exception:  # the gateway went away: the stream is over
            pass
        self.ended.set()

    def _post(self, body: dict) -> None:
        r = requests.post(self.post_url, headers=self.headers, json=body, timeout=30)
        assert r.status_code == 202, r.text

    def _wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if text in event:
                    return event
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} on the SSE stream: {self.events}")


def wait_healthy(port: int, gateway: Gateway, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        if gateway.process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"the gateway did not become healthy:\n{gateway.stderr()}")


def start(user, tmp_path, how: str, transport: str, *extra: str, **popen) -> tuple[Gateway, int]:
    port = free_port()
    args = ["--servers", "hang", *extra]
    if transport != "stdio":
        args += ["--transport", transport, "--port", str(port)]
    popen.setdefault("stdin", subprocess.DEVNULL)
    gateway = Gateway(user, tmp_path, command(user, how, *args), {"MCP_GATEWAY_AUTH_TOKEN": TOKEN}, **popen)
    if transport != "stdio":
        wait_healthy(port, gateway)
    return gateway, port


def hung_call(gateway: Gateway, transport: str, port: int, tool: str = "hang", arguments: dict | None = None):
    arguments = arguments if arguments is not None else {"text": "never answered"}
    if transport == "stdio":
        client: object = StdioCall(gateway, tool, arguments)
    elif transport == "streaming":
        client = StreamingCall(port, tool, arguments)
    else:
        client = SseCall(port, tool, arguments)
    gateway.wait_for_log(f"Calling tool {tool} with arguments")
    return client


# --- Ctrl-C on a terminal ---


def on_a_terminal(user, tmp_path, argv: list[str]) -> tuple[Gateway, int]:
    """The command with a pseudo-terminal as its controlling terminal, stdin and stdout (stderr to a
    file), in a session of its own, so that Ctrl-C typed there reaches its foreground process group."""
    controller, terminal = pty.openpty()

    def take_the_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    gateway = Gateway(
        user, tmp_path, argv, {"MCP_GATEWAY_AUTH_TOKEN": TOKEN},
        stdin=terminal, stdout=terminal, preexec_fn=take_the_terminal,
    )  # fmt: skip
    os.close(terminal)
    return gateway, controller


@pytest.mark.parametrize("how", ["docker-cli", "standalone"])
def test_ctrl_c_on_a_terminal_stops_a_stdio_gateway_at_once_while_a_call_hangs(gateway_user, hanging, tmp_path, how):
    gateway, terminal = on_a_terminal(gateway_user, tmp_path, command(gateway_user, how, "--servers", "hang"))
    try:
        # a person typing JSON-RPC on the terminal is served (the terminal echoes the lines typed, too)
        os.write(terminal, json.dumps(INITIALIZE).encode() + b"\n")
        read_until(terminal, b'"result"')
        for m in (INITIALIZED, call("hang", {"text": "x"})):
            os.write(terminal, json.dumps(m).encode() + b"\n")
        gateway.wait_for_log("Calling tool hang with arguments")
        os.write(terminal, b"\x03")  # Ctrl-C: the terminal sends SIGINT to the foreground process group
        assert gateway.exits_within(10) == 130  # "at once": no grace, nothing waits for a line typed
        err = gateway.stderr()
        assert "> Stopping: interrupted" in err
        no_traceback(err)
    finally:
        gateway.close()
        os.close(terminal)


def test_ctrl_c_on_a_terminal_stops_an_http_gateway_at_once_while_a_call_hangs(gateway_user, hanging, tmp_path):
    port = free_port()
    argv = command(gateway_user, "docker-cli", "--servers", "hang", "--transport", "streaming", "--port", str(port))
    gateway, terminal = on_a_terminal(gateway_user, tmp_path, argv)
    try:
        wait_healthy(port, gateway)
        client = StreamingCall(port, "hang", {"text": "x"})
        gateway.wait_for_log("Calling tool hang with arguments")
        os.write(terminal, b"\x03")
        assert gateway.exits_within(10) == 130
        assert client.ended.wait(10) and client.error is None  # its stream was ended, not broken
        no_traceback(gateway.stderr())
    finally:
        gateway.close()
        os.close(terminal)


# --- SIGTERM: bounded by the grace, clean-up included ---


@pytest.mark.parametrize("transport", ["stdio", "sse", "streaming"])
@pytest.mark.parametrize("how", ["docker-cli", "standalone"])
def test_sigterm_ends_the_gateway_within_the_grace_while_a_backend_call_hangs(
    gateway_user, hanging, tmp_path, how, transport
):
    popen = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE} if transport == "stdio" else {}
    gateway, port = start(gateway_user, tmp_path, how, transport, **popen)
    try:
        client = hung_call(gateway, transport, port)
        # to the docker CLI, which closes the plugin's socket; or to the plugin, as `docker stop` does
        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.exits_within(EXIT_BOUND) == 0
        err = gateway.stderr()
        said = (
            "> Stopping: the docker CLI asked the gateway to stop"
            if how == "docker-cli"
            else "> Stopping: SIGTERM received"
        )
        assert said in err
        no_traceback(err)
        if transport == "streaming":  # the call had the grace, then its stream was ended cleanly
            assert f"> Waiting up to {STOP_GRACE:.0f} s for 1 request(s) in flight" in err
            assert "! Stopped 1 request(s) still in flight" in err
            assert isinstance(client, StreamingCall)
            assert client.ended.wait(10) and client.error is None, client.error
        if transport == "sse":
            assert isinstance(client, SseCall) and client.ended.wait(10)
    finally:
        gateway.close()


def test_a_call_that_finishes_within_the_grace_is_answered_before_the_gateway_exits(gateway_user, hanging, tmp_path):
    gateway, port = start(gateway_user, tmp_path, "docker-cli", "streaming")
    try:
        client = hung_call(gateway, "streaming", port, "slow", {"seconds": 1})
        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.exits_within(EXIT_BOUND) == 0
        assert isinstance(client, StreamingCall) and client.ended.wait(10)
        assert any("slept 1.0" in event for event in client.events), client.events
        err = gateway.stderr()
        assert "> Waiting up to" in err and "still in flight" not in err
        no_traceback(err)
    finally:
        gateway.close()


class StandInEngine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Just enough of the Docker engine API on a unix socket: ping and version, an empty container list
    (each list's label filters recorded), and 500 for anything else (so `docker run` fails at once)."""

    daemon_threads = True

    def __init__(self, path: str) -> None:
        self.label_filters: list[list[str]] = []
        engine = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def answer(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Api-Version", "1.43")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path.endswith("/_ping"):
                    self.answer(200, "OK")
                elif url.path.endswith("/version"):
                    self.answer(200, {"ApiVersion": "1.43", "MinAPIVersion": "1.24", "Version": "24.0.0"})
                elif url.path.endswith("/containers/json"):
                    filters = json.loads(parse_qs(url.query).get("filters", ["{}"])[0])
                    engine.label_filters.append(list(filters.get("label", [])))
                    self.answer(200, [])
                else:
                    self.answer(500, {"message": "stand-in engine: nothing here"})

            do_HEAD = do_GET

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.answer(500, {"message": "stand-in engine: no containers here"})

            do_DELETE = do_POST

        super().__init__(path, Handler)


def test_sigterm_still_runs_the_container_clean_up(gateway_user, hanging, tmp_path):
    """A gateway with a container server asks the engine for the containers it labelled, on its way out
    after SIGTERM (before, SIGTERM killed the process on the spot)."""
    engine_path = str(tmp_path / "engine.sock")
    engine = StandInEngine(engine_path)
    threading.Thread(target=engine.serve_forever, daemon=True).start()
    boxed = tmp_path / "boxed.yaml"
    boxed.write_text("name: boxed\ntype: server\nimage: mcp/boxed-lifecycle-test\n")
    assert gateway_user.docker("mcp", "catalog", "import", str(boxed)).returncode == 0
    gateway_user.env["DOCKER_HOST"] = f"unix://{engine_path}"
    port = free_port()
    argv = command(gateway_user, "standalone", "--servers", "hang,boxed", "--transport", "sse", "--port", str(port))
    gateway = Gateway(gateway_user, tmp_path, argv, {"MCP_GATEWAY_AUTH_TOKEN": TOKEN}, stdin=subprocess.DEVNULL)
    try:
        wait_healthy(port, gateway)
        hung_call(gateway, "sse", port)
        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.exits_within(EXIT_BOUND) == 0
        own = [f for f in engine.label_filters if any(re.fullmatch(r"docker-mcp-gateway=\d+-[0-9a-f]+", x) for x in f)]
        assert own, (engine.label_filters, gateway.stderr())
        no_traceback(gateway.stderr())
    finally:
        gateway.close()
        engine.shutdown()
        engine.server_close()


# --- where it cannot listen ---


def test_a_port_in_use_is_one_error_line_naming_it(gateway_user, hanging):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = gateway_user.docker(
            "mcp", "gateway", "run", "--servers", "hang", "--transport", "streaming", "--port", str(port),
            env={"MCP_GATEWAY_AUTH_TOKEN": TOKEN},
        )  # fmt: skip
    assert r.returncode == 1, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last == (
        f"cannot listen on 127.0.0.1:{port}: the port is already in use; "
        "stop what listens there (another gateway?) or choose another --port"
    )
    assert "> Start streaming server" not in r.stderr  # the socket is bound before the front is announced
    assert len(r.stderr.strip().splitlines()) <= 3, r.stderr  # the token line, the watch line, the error
    no_traceback(r.stderr)
    assert r.stdout == ""


@pytest.mark.parametrize(
    "host, why",
    [
        ("nosuch.invalid", "'nosuch.invalid' is not an address this machine can resolve"),
        ("192.0.2.1", "192.0.2.1 is not an address of this machine"),  # TEST-NET-1: nobody's
    ],
)
def test_a_host_it_cannot_listen_on_is_one_error_line(gateway_user, hanging, host, why):
    port = free_port()
    r = gateway_user.docker(
        "mcp", "gateway", "run", "--servers", "hang", "--transport", "sse", "--host", host, "--port", str(port),
        env={"MCP_GATEWAY_AUTH_TOKEN": TOKEN},
    )  # fmt: skip
    assert r.returncode == 1, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(f"cannot listen on {host}:{port}: {why}; use --host"), r.stderr
    no_traceback(r.stderr)


@pytest.mark.parametrize(
    "port, error",
    [
        ("70000", "--port must be a port number from 1 to 65535, not 70000"),
        ("-1", "--port must be a port number from 1 to 65535, not -1"),
        ("http", 'invalid argument "http" for "--port" flag: not an integer'),
    ],
)
def test_a_port_that_is_not_one_is_a_usage_error(gateway_user, port, error):
    r = gateway_user.docker("mcp", "gateway", "run", "--transport", "streaming", "--port", port)
    assert r.returncode == 125, r.stderr
    assert r.stderr.splitlines()[0] == error
    assert "Run 'docker mcp gateway run --help' for more information" in r.stderr
    no_traceback(r.stderr)
    assert r.stdout == ""


# --- no log flood when file descriptors run out ---


def test_running_out_of_file_descriptors_is_one_line_and_it_serves_again_afterwards(gateway_user, hanging, tmp_path):
    limit = 64  # file descriptors for the docker CLI and the gateway it runs

    def few_descriptors() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    gateway, port = start(gateway_user, tmp_path, "docker-cli", "streaming", preexec_fn=few_descriptors)
    connections: list[socket.socket] = []
    try:
        for _ in range(limit + 20):  # the kernel queues what the gateway cannot accept
            connections.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        gateway.wait_for_log("! Cannot accept connections: Too many open files", timeout=30)
        time.sleep(3)  # the count repeats every second (asyncio's accept() retries did, each with a traceback)
        err = gateway.stderr()
        assert err.count("Cannot accept connections") == 1, err[-3000:]
        assert len(err) < 2000, err[-3000:]
        for connection in connections:
            connection.close()
        connections.clear()
        wait_healthy(port, gateway, timeout=30)
        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.exits_within(EXIT_BOUND) == 0
        no_traceback(gateway.stderr())
    finally:
        for connection in connections:
            connection.close()
        gateway.close()
