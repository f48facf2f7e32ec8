"""Failures that say what to do, and feedback on slow steps (issue 16, items 5 and 6), through the real
docker CLI: each message with its exit code. Progress shows on a terminal only (a pty here), never on
stdout of the stdio gateway.

The Docker-engine cases pull from a real registry (Debian's docker-registry, on loopback: the engine
treats 127.0.0.0/8 as an insecure registry) and from a port where no registry listens."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import termios
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import DOCKER, new_user
from tests.e2e.oauth_support import free_port
from tests.helpers.mcp_images import ensure_time_image


class OnATerminal:
    """`docker ARGS` with a pseudo-terminal as its controlling terminal, stdin and stderr (so Ctrl-C typed
    there reaches its process group), stdout a pipe (what a client would read) unless `stdout_too`: what
    a person sees is read from the terminal."""

    def __init__(self, plugin, *args: str, env: dict[str, str] | None = None, stdout_too: bool = False) -> None:
        self.controller, terminal = pty.openpty()

        def take_the_terminal() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.process = subprocess.Popen(
            [DOCKER, *args],
            env={**plugin.env, **(env or {})},
            stdin=terminal,
            stdout=terminal if stdout_too else subprocess.PIPE,
            stderr=terminal,
            preexec_fn=take_the_terminal,
        )
        os.close(terminal)
        self.seen = b""

    def read_until(self, text: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.seen:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.controller], [], [], max(left, 0))
            chunk = b""
            if ready:
                with contextlib.suppress(OSError):  # the terminal's other side is closed: the command ended
                    chunk = os.read(self.controller, 65536)
            if not chunk:
                raise AssertionError(f"no {text!r} on the terminal:\n{self.text()}")
            self.seen += chunk
        return self.text()

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        """(exit code, the terminal's text, stdout) once the command has ended."""
        code = self.process.wait(timeout=timeout)
        while select.select([self.controller], [], [], 0.2)[0]:
            try:
                chunk = os.read(self.controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.seen += chunk
        stdout = self.process.stdout.read().decode() if self.process.stdout else ""
        return code, self.text(), stdout

    def text(self) -> str:
        return self.seen.decode(errors="replace").replace("\r\n", "\n")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        if self.process.stdout:
            self.process.stdout.close()
        os.close(self.controller)


def import_catalog(plugin, tmp_path: Path, registry: dict) -> None:
    path = tmp_path / "local.yaml"
    path.write_text(json.dumps({"name": "local", "registry": registry}))  # JSON is YAML
    r = plugin.docker("mcp", "catalog", "import", str(path))
    assert r.returncode == 0, r.stderr


def no_traceback(text: str) -> None:
    assert "Traceback" not in text and "MCPError" not in text, text


# --- not found, not enabled, which catalog ---


def test_disabling_a_server_that_is_not_enabled_says_so_and_does_not_claim_it(plugin, tmp_path):
    import_catalog(plugin, tmp_path, {"notes": {"type": "server", "image": "mcp/notes"}})
    assert plugin.docker("mcp", "server", "enable", "notes").returncode == 0
    r = plugin.docker("mcp", "server", "disable", "nosuch", "notes")
    # as the Go plugin: unknown names are left alone, exit 0; but not reported as disabled
    assert r.returncode == 0, r.stderr
    assert r.stdout == 'Server "notes" disabled.\n'
    assert r.stderr == "server \"nosuch\" is not enabled: run 'docker mcp server ls' to list the enabled ones\n"


def test_catalog_show_without_a_name_says_which_names_to_give(plugin, tmp_path):
    r = plugin.docker("mcp", "catalog", "show")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (
        "no catalog named and none is configured: import one with 'docker mcp catalog import FILE|URL'\n"
    )
    import_catalog(plugin, tmp_path, {"notes": {"type": "server", "image": "mcp/notes"}})
    assert plugin.docker("mcp", "catalog", "create", "team").returncode == 0
    r = plugin.docker("mcp", "catalog", "show")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (
        'no catalog named and Docker\'s catalog "docker-mcp" is not configured: '
        "run 'docker mcp catalog show NAME' with one of: local, team\n"
    )
    assert plugin.docker("mcp", "catalog", "show", "local").returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("server", "enable", "ghost"),
            'server "ghost" not found in any configured catalog: '
            "run 'docker mcp catalog ls' and 'docker mcp catalog show NAME' to list them",
        ),
        (
            ("server", "inspect", "ghost"),
            'server "ghost" not found in any configured catalog: '
            "run 'docker mcp catalog ls' and 'docker mcp catalog show NAME' to list them",
        ),
        (
            ("gateway", "run", "--servers", "ghost", "--dry-run"),
            'server "ghost" not found in any configured catalog: '
            "run 'docker mcp catalog ls' and 'docker mcp catalog show NAME' to list them",
        ),
        (("catalog", "show", "ghost"), "catalog \"ghost\" not found: run 'docker mcp catalog ls' to list them"),
        (("catalog", "rm", "ghost"), "catalog \"ghost\" not found: run 'docker mcp catalog ls' to list them"),
        (
            ("catalog", "export", "ghost", "out.yaml"),
            "catalog \"ghost\" not found: run 'docker mcp catalog ls' to list them",
        ),
        (("catalog", "update", "ghost"), "catalog \"ghost\" not found: run 'docker mcp catalog ls' to list them"),
        (("tools", "inspect", "ghost"), "tool \"ghost\" not found: run 'docker mcp tools ls' to list them"),
        (("feature", "enable", "ghost"), "feature \"ghost\" not found: run 'docker mcp feature ls' to list them"),
        (("feature", "disable", "ghost"), "feature \"ghost\" not found: run 'docker mcp feature ls' to list them"),
        (
            ("oauth", "revoke", "ghost"),
            'server "ghost" not found in any configured catalog: '
            "run 'docker mcp catalog ls' and 'docker mcp catalog show NAME' to list them",
        ),
    ],
)
def test_not_found_reads_the_same_everywhere_and_says_how_to_list(plugin, args, message):
    r = plugin.docker("mcp", *args)
    # one pattern: KIND "NAME" not found[ in WHERE]: run 'docker mcp …' to list them
    assert (r.returncode, r.stdout, r.stderr) == (1, "", message + "\n")


def test_revoking_a_name_no_catalog_has_is_not_found_before_the_credential_store_is_asked(plugin):
    with open(os.path.join(plugin.config_dir, "config.json"), "w") as f:
        json.dump({"credsStore": "no-such-helper"}, f)  # a store that cannot be used at all
    r = plugin.docker("mcp", "oauth", "revoke", "ghost")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (
        'server "ghost" not found in any configured catalog: '
        "run 'docker mcp catalog ls' and 'docker mcp catalog show NAME' to list them\n"
    )


def test_revoking_a_server_without_oauth_says_it_does_not_use_oauth(plugin, tmp_path):
    import_catalog(plugin, tmp_path, {"notes": {"type": "server", "image": "mcp/notes"}})
    r = plugin.docker("mcp", "oauth", "revoke", "notes")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (
        'server "notes" does not use OAuth (only remote servers do): '
        "run 'docker mcp oauth ls' to list the ones that do\n"
    )


def test_export_into_a_directory_that_does_not_exist_fails_and_creates_nothing(plugin, tmp_path):
    assert plugin.docker("mcp", "catalog", "create", "team").returncode == 0
    target = tmp_path / "nonexistent" / "dir" / "x.yaml"
    r = plugin.docker("mcp", "catalog", "export", "team", str(target))
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (
        f"failed to write export file: {target}: directory {target.parent} does not exist: create it first, "
        "or give a path in an existing directory\n"
    )
    assert not (tmp_path / "nonexistent").exists()


# --- the password store ---


@pytest.fixture
def with_pass_config(plugin):
    with open(os.path.join(plugin.config_dir, "config.json"), "w") as f:
        json.dump({"credsStore": "pass"}, f)
    return plugin


def test_a_password_store_never_initialised_is_reported_before_anything_is_asked(with_pass_config, tmp_path):
    gnupg = tmp_path / "gnupg"
    gnupg.mkdir(mode=0o700)
    store = tmp_path / "password-store"  # `pass init` never ran
    with_pass_config.env.update(GNUPGHOME=str(gnupg), PASSWORD_STORE_DIR=str(store))
    expected = (
        f'the password store of docker-credential-pass (credsStore "pass") is not initialised ({store} has no '
        ".gpg-id): run 'pass init <gpg-id>' with a key from 'gpg --list-secret-keys' (make one with "
        "'gpg --quick-gen-key \"NAME <EMAIL>\"'), or set credsStore to another helper\n"
    )
    r = with_pass_config.docker("mcp", "secret", "ls")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", expected)

    # on a terminal, `secret set NAME` would prompt for the value: it fails first
    typed = OnATerminal(with_pass_config, "mcp", "secret", "set", "notes.token")
    try:
        code, shown, stdout = typed.finish(timeout=30)
    finally:
        typed.close()
    assert (code, stdout) == (1, "")
    assert "Value of" not in shown and expected.strip() in shown.replace("\n", ""), shown


def test_a_password_store_for_a_key_this_keyring_lacks_is_reported_before_the_value_is_asked(
    with_pass_config, pass_env, tmp_path
):
    empty = tmp_path / "other-gnupg"
    empty.mkdir(mode=0o700)
    with_pass_config.env.update(pass_env, GNUPGHOME=str(empty))  # the store's key is in another keyring
    key = (Path(pass_env["PASSWORD_STORE_DIR"]) / ".gpg-id").read_text().strip()
    typed = OnATerminal(with_pass_config, "mcp", "secret", "set", "notes.token")
    try:
        code, shown, stdout = typed.finish(timeout=30)
    finally:
        typed.close()
    assert (code, stdout) == (1, "")
    assert "Value of" not in shown, shown
    assert (
        f"the password store of docker-credential-pass encrypts for GPG key {key}, which this keyring does not "
        "have: import that key, or run 'pass init <gpg-id>' with a key from 'gpg --list-secret-keys'"
    ) in shown.replace("\n", ""), shown
    # with the store's keyring, the same command prompts (and stores what is typed)
    with_pass_config.env.update(pass_env)
    typed = OnATerminal(with_pass_config, "mcp", "secret", "set", "notes.token")
    try:
        typed.read_until("Value of notes.token: ")
        os.write(typed.controller, b"typed-value\n")
        assert typed.finish(timeout=30)[0] == 0
    finally:
        typed.close()
    assert with_pass_config.docker("mcp", "secret", "ls").stdout.split()[2:3] == ["notes.token"]


# --- OAuth: a placeholder client, the callback's timeout ---


def test_a_placeholder_client_id_is_warned_about_and_the_wait_shows_its_timeout(plugin, pass_env, tmp_path):
    with open(os.path.join(plugin.config_dir, "config.json"), "w") as f:
        json.dump({"credsStore": "pass"}, f)
    plugin.env.update(pass_env)
    server = tmp_path / "notes.yaml"
    server.write_text(
        "name: notes\ntype: remote\nremote:\n  url: https://mcp.notes.example/mcp\n"
        "oauth:\n  credentials:\n    clientId: your-notes-client-id\n"
        "    authorizationEndpoint: https://auth.notes.example/authorize\n"
        "    tokenEndpoint: https://auth.notes.example/token\n"
    )
    assert plugin.docker("mcp", "catalog", "import", str(server)).returncode == 0
    port = free_port()
    r = plugin.docker("mcp", "oauth", "authorize", "notes", "--callback-port", str(port), "--timeout", "1")
    assert r.returncode == 1
    assert r.stderr == (
        "! notes: clientId 'your-notes-client-id' looks like a placeholder, which the provider will refuse: put "
        "your app's client ID in the catalog entry (oauth.credentials.clientId) and import it again\n"
        "no authorization callback within 1 s: run the command again, or give more time with --timeout\n"
    )
    assert (
        f"Waiting for authorization callback on http://127.0.0.1:{port}/callback... "
        "(for 1 s at most; --timeout SECONDS to change)\n"
    ) in r.stdout


# --- NO_COLOR, the first run ---


def test_the_catalog_listing_on_a_terminal_is_plain_with_or_without_no_color(plugin, tmp_path):
    """The plugin emits no colour or style of its own (stdout on a terminal goes through
    TerminalSafeWriter, which would print a style's escape as `[1m` text): NO_COLOR holds as is."""
    import_catalog(plugin, tmp_path, {"notes": {"type": "server", "image": "mcp/notes", "description": "Notes"}})

    def shown(env: dict[str, str]) -> bytes:
        controller, terminal = pty.openpty()
        process = subprocess.Popen(
            [DOCKER, "mcp", "catalog", "show", "local"], env={**plugin.env, **env}, stdout=terminal
        )
        os.close(terminal)
        out = b""
        while select.select([controller], [], [], 30)[0]:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.close(controller)
        assert process.wait(timeout=30) == 0
        return out

    for env in ({}, {"NO_COLOR": "1"}):
        text = shown(env)
        assert text.split(b"\r\n")[:2] == [b"NAME    TYPE     DESCRIPTION", b"notes   server   Notes"], text
        assert b"\x1b" not in text and b"[1m" not in text and b"[0m" not in text, text


def test_the_first_run_says_it_unpacks_on_a_terminal_only(installed_config, tmp_path):
    user = new_user(installed_config, str(tmp_path / "shiv-root"), tmp_path / "home")
    first = OnATerminal(user, "mcp", "version")
    try:
        code, shown, stdout = first.finish()
    finally:
        first.close()
    assert code == 0 and stdout.strip(), (shown, stdout)
    assert shown == "Unpacking docker-mcp (first run, a few seconds)...\n", shown
    again = OnATerminal(user, "mcp", "version")
    try:
        assert again.finish()[1] == ""  # unpacked already
    finally:
        again.close()
    piped = new_user(installed_config, str(tmp_path / "shiv-root-2"), tmp_path / "home-2")
    r = piped.docker("mcp", "version")
    assert (r.returncode, r.stderr) == (0, "")  # stderr to a pipe: nothing but what the command says


# --- container servers on a real engine ---


@pytest.fixture(scope="module")
def time_image(docker_engine):
    return ensure_time_image(docker_engine)


@pytest.fixture
def engine_user(plugin, docker_engine, time_image):
    plugin.env.update(docker_engine.env({}))
    return plugin


def absent_image() -> str:
    """An image on a loopback port where no registry listens: not on the engine, and its pull fails."""
    return f"127.0.0.1:{free_port()}/docker-mcp-absent:test"


def test_an_image_that_is_absent_and_cannot_be_pulled_says_docker_pull_and_exits_1(engine_user, tmp_path):
    image = absent_image()
    import_catalog(engine_user, tmp_path, {"absent": {"type": "server", "image": image}})
    for args in (("gateway", "run", "--dry-run", "--servers", "absent"), ("tools", "ls", "--servers", "absent")):
        r = engine_user.docker("mcp", *args)
        assert (r.returncode, r.stdout) == (1, ""), r.stderr
        lines = r.stderr.splitlines()
        pulled = [line for line in lines if line.startswith(f"! absent: image {image} is not on the Docker engine")]
        assert len(pulled) == 1, r.stderr
        assert pulled[0].endswith(f"pull it with 'docker pull {image}' (or build it), then start again"), r.stderr
        assert "connection refused" in pulled[0], r.stderr
        assert lines[-1] == "the server could not be connected (see the line above)", r.stderr
        no_traceback(r.stderr)


def test_a_container_that_docker_cannot_start_says_what_docker_said(engine_user, tmp_path, time_image):
    import_catalog(engine_user, tmp_path, {"bad": {"type": "server", "image": time_image, "user": "nosuchuser"}})
    r = engine_user.docker("mcp", "gateway", "run", "--dry-run", "--servers", "bad")
    assert (r.returncode, r.stdout) == (1, ""), r.stderr
    assert r.stderr.splitlines() == [
        "! bad: docker: Error response from daemon: unable to find user nosuchuser: no matching entries in passwd file",
        "the server could not be connected (see the line above)",
    ]


def test_when_some_servers_fail_the_others_serve_and_stderr_names_the_failed(engine_user, tmp_path, time_image):
    image = absent_image()
    import_catalog(
        engine_user,
        tmp_path,
        {"absent": {"type": "server", "image": image}, "time": {"type": "server", "image": time_image}},
    )
    r = engine_user.docker("mcp", "gateway", "run", "--dry-run", "--servers", "time,absent")
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    assert "! 1 of 2 servers could not be connected: absent\n" in r.stderr
    assert "> time: 2 tools: convert_time, get_current_time\n" in r.stderr
    assert "- Starting" not in r.stderr  # progress is for a terminal
    r = engine_user.docker("mcp", "tools", "ls", "--servers", "time,absent", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert sorted(t["name"] for t in json.loads(r.stdout)) == ["convert_time", "get_current_time"]
    assert "! 1 of 2 servers could not be connected: absent\n" in r.stderr


def test_on_a_terminal_the_stdio_gateway_says_what_starts_and_ctrl_c_stops_it_within_a_second(
    engine_user, tmp_path, time_image
):
    import_catalog(engine_user, tmp_path, {"time": {"type": "server", "image": time_image, "longLived": True}})
    # all three on the terminal, as a person runs it: the docker CLI then leaves Ctrl-C to the plugin
    # (with its stdout a pipe it would close the plugin's socket too: a graceful stop)
    gateway = OnATerminal(engine_user, "mcp", "gateway", "run", "--servers", "time", stdout_too=True)
    try:
        gateway.read_until("- Starting time...")
        gateway.read_until("> 2 tools from 1 servers, connected in ")
        time.sleep(0.5)
        os.write(gateway.controller, b"\x03")  # Ctrl-C: SIGINT to the terminal's foreground process group
        stopped = time.monotonic()
        code, shown, _ = gateway.finish(timeout=30)
        took = time.monotonic() - stopped
    finally:
        gateway.close()
    assert code == 130, shown
    assert took < 1.0, f"{took:.2f} s"
    assert "> Stopping: interrupted" in shown
    no_traceback(shown)


def test_a_busy_port_is_one_line(engine_user, tmp_path, time_image):
    import socket

    import_catalog(engine_user, tmp_path, {"time": {"type": "server", "image": time_image}})
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = engine_user.docker(
            "mcp", "gateway", "run", "--servers", "time", "--transport", "streaming", "--port", str(port),
            "--allow-unauthenticated",
        )  # fmt: skip
    assert (r.returncode, r.stdout) == (1, ""), r.stderr
    last = r.stderr.splitlines()[-1]
    assert str(port) in last and "in use" in last, r.stderr
    no_traceback(r.stderr)


@pytest.fixture
def local_registry(tmp_path):
    """Debian's docker-registry on a loopback port, stopped by PID."""
    program = shutil.which("docker-registry")
    if program is None:
        pytest.fail("docker-registry is not installed: scripts/ensure-docker-engine-deps installs it")
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {tmp_path / 'registry'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\nlog:\n  level: error\n"
    )
    with open(tmp_path / "registry.log", "wb") as log:
        process = subprocess.Popen([program, "serve", str(config)], stdout=log, stderr=log)
    import socket

    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp_path / "registry.log").read_text()) from None
            time.sleep(0.1)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_missing_image_is_pulled_with_progress_on_a_terminal_and_quietly_elsewhere(
    engine_user, docker_engine, local_registry, tmp_path, time_image
):
    image = f"{local_registry}/docker-mcp-pulled:test"
    for args in (("tag", time_image, image), ("push", image), ("rmi", image)):
        done = docker_engine.docker(*args)
        assert done.returncode == 0, done
    import_catalog(engine_user, tmp_path, {"pulled": {"type": "server", "image": image}})

    gateway = OnATerminal(engine_user, "mcp", "gateway", "run", "--dry-run", "--servers", "pulled")
    try:
        code, shown, stdout = gateway.finish(timeout=180)
    finally:
        gateway.close()
    assert (code, stdout) == (0, ""), shown
    assert f"- Pulling {image} (not on the Docker engine)..." in shown
    assert f"Status: Downloaded newer image for {image}" in shown, shown  # docker's own progress display
    assert f"> Pulled {image} in " in shown
    assert "> pulled: 2 tools" in shown
    assert docker_engine.image_exists(image)

    assert docker_engine.docker("rmi", image).returncode == 0
    r = engine_user.docker("mcp", "gateway", "run", "--dry-run", "--servers", "pulled")
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    assert f"- Pulling {image} (not on the Docker engine)...\n" in r.stderr
    assert "Downloaded newer image" not in r.stderr and "Pulling from" not in r.stderr
    assert docker_engine.image_exists(image)
