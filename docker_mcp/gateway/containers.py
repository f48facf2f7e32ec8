"""Container servers: `docker run -i` spoken to through the MCP SDK's stdio client, with the Go plugin's
arguments (go-plugin-gateway.md §3.1). Secret values reach the container through the child's
environment (`-e NAME` without a value), never through argv: unlike the Go gateway, a `$VAR` in
`command` that names a secret-derived variable stays the literal `${VAR}`, for the server (or its
entrypoint shell) to expand from its environment."""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..catalog.schema import Server
from .backends import BackendError
from .templates import render

log = logging.getLogger("docker_mcp.gateway")
LABEL = "docker-mcp=true"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")

# What the `docker` CLI child reads from its own environment — itself, the Go runtime, the dynamic loader
# and glibc, an `ssh` it runs for an ssh:// DOCKER_HOST, a shell if `docker` is a wrapper script — and so
# what a catalog entry must never set there: DOCKER_HOST pointed at another "daemon" gets the
# containers/create request, secret values in its Env included. Matched case-insensitively (Go reads
# http_proxy too; Windows ignores case). The child has these from the gateway's environment only; a
# catalog `env` entry so named reaches the container as `-e NAME=VALUE`, and a secret so named is refused.
CLI_ENV_PREFIXES = ("DOCKER_", "LD_", "DYLD_", "SSH_", "OTEL_")
CLI_ENV_NAMES = frozenset(
    {
        "PATH", "HOME", "SHELL",  # the executable's lookup, ~/.docker, ssh's ProxyCommand shell
        "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",  # the engine API over tcp:// goes through a proxy
        "SSL_CERT_FILE", "SSL_CERT_DIR",  # Go's trusted roots
        "GODEBUG", "GOGC", "GOMAXPROCS", "GOMEMLIMIT", "GOTRACEBACK", "DEBUG", "NORAW", "NO_COLOR",
        "GCONV_PATH", "GLIBC_TUNABLES", "LOCPATH", "HOSTALIASES", "LOCALDOMAIN", "RES_OPTIONS",
        "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "IFS",
        "USERPROFILE", "PROGRAMDATA", "PROGRAMFILES", "SYSTEMROOT", "PATHEXT",  # Windows
    }
)  # fmt: skip


def cli_reads(name: str) -> bool:
    """Whether the docker CLI child (or what it loads or runs) reads `name` from its environment."""
    upper = name.upper()
    return upper in CLI_ENV_NAMES or upper.startswith(CLI_ENV_PREFIXES)


def _refuse_secret(server: str, name: str) -> BackendError:
    return BackendError(
        f"{server}: the secret variable {name} has a name the docker CLI itself reads; "
        "give the secret another env name in the catalog"
    )


@dataclass(frozen=True)
class ContainerOptions:
    cpus: int = 1
    memory: str = "2Gb"
    gateway_id: str = ""  # a label on every container this gateway starts, for clean-up


@dataclass(frozen=True)
class DockerRun:
    argv: list[str]  # after `docker`: `run`, its options, the image, the server's command; never a secret value
    env: dict[str, str]  # the docker CLI process's environment: where `-e NAME` takes values from (cli_reads)
    image_at: int = -1  # argv's index of the image

    def __repr__(self) -> str:  # the environment holds secret values
        return f"DockerRun(argv={self.argv!r}, env=<{len(self.env)} variables>)"

    def log_line(self) -> str:
        """`Running <image> with [<options>] and command [<args>]` (go-plugin-gateway.md §3.1), the image
        without its @sha256 digest."""
        image = self.argv[self.image_at].split("@")[0]
        line = f"Running {image} with [{' '.join(self.argv[: self.image_at])}]"
        command = self.argv[self.image_at + 1 :]
        return line + (f" and command [{' '.join(command)}]" if command else "")


def docker_run(
    server: Server,
    settings: dict[str, Any],
    secret_value: Callable[[str, str], str],
    options: ContainerOptions,
) -> DockerRun:
    """The `docker run` command for a container server, and the environment it needs
    (go-plugin-gateway.md §3.1). `secret_value(name, env)` gives a declared secret's value.

    A secret-derived variable — a declared secret's `env`, or an `env` entry whose value was expanded
    from one — is never expanded into `command`: the argument keeps `${VAR}` and one warning names the
    variables (never their values).

    A variable the docker CLI itself reads (cli_reads: DOCKER_HOST, PATH, LD_PRELOAD, …) never comes from
    the catalog in the CLI's environment, only from the gateway's: a non-secret one reaches the container
    as `-e NAME=VALUE`, a secret-derived one is refused. Raises BackendError for that, and when the server
    has no image."""
    if not server.image:
        raise BackendError(f"{server.name}: a container server needs an image")
    env: dict[str, str] = {}
    from_secrets: set[str] = set()  # names whose value is, or holds, a secret's
    for secret in server.secrets:
        if secret.env:
            if cli_reads(secret.env):
                raise _refuse_secret(server.name, secret.env)  # before its value is even looked up
            env[secret.env] = secret_value(secret.name, secret.env)
            from_secrets.add(secret.env)
    for item in server.env:
        value = item.value
        derived = False
        if "{{" in value and "}}" in value:
            rendered = render(value, settings)
            value = " ".join(map(str, rendered)) if isinstance(rendered, list) else str(rendered)
        else:
            derived = any((m.group(1) or m.group(2)) in from_secrets for m in _VAR.finditer(value))
            value = _expand(value, env)
        if value:
            env[item.name] = value
            if derived:
                from_secrets.add(item.name)
    for name in env:
        if name in from_secrets and cli_reads(name):
            raise _refuse_secret(server.name, name)
    argv = ["run", "--rm", "-i", "--init", "--security-opt", "no-new-privileges"]
    if options.cpus > 0:
        argv += ["--cpus", str(options.cpus)]
    if options.memory:
        argv += ["--memory", options.memory]
    argv += ["--pull", "never"]
    if os.environ.get("DOCKER_MCP_IN_DIND") == "1":
        argv.append("--privileged")
    argv += ["-l", LABEL, "-l", "docker-mcp-tool-type=mcp", "-l", f"docker-mcp-name={server.name}"]
    argv += ["-l", "docker-mcp-transport=stdio"]
    if options.gateway_id:
        argv += ["-l", f"docker-mcp-gateway={options.gateway_id}"]
        where = pid_namespace()
        if where:
            argv += ["-l", f"{NAMESPACE_LABEL}={where}"]
    if server.disable_network:
        argv += ["--network", "none"]
    for name, value in env.items():  # a name the CLI reads: its value here, not in the CLI's environment
        argv += ["-e", f"{name}={value}" if cli_reads(name) else name]
    for volume in _list(server.volumes, settings):
        if volume.startswith("-"):
            log.warning("! %s: volume %r looks like a flag: skipped", server.name, volume)
            continue
        argv += ["-v", volume]
    user = str(render(server.user, settings)) if "{{" in server.user else server.user
    if user and not user.startswith("-"):
        argv += ["-u", user]
    for host in server.extra_hosts:
        if host and not host.startswith("-"):
            argv += ["--add-host", host]
    image_at = len(argv)
    argv.append(server.image)
    referenced: set[str] = set()
    argv += [_expand(arg, env, from_secrets, referenced) for arg in _list(server.command, settings)]
    if referenced:
        log.warning(
            "! %s: command passes %s as a reference (${NAME}), not a value: a secret reaches a container only "
            "through its environment, where the server can expand it",
            server.name,
            ", ".join(sorted(referenced)),
        )
    child_env = {name: value for name, value in env.items() if not cli_reads(name)}
    for name, value in os.environ.items():  # what the docker CLI itself reads: the gateway's, if anything
        if cli_reads(name) and not name.upper().startswith("DOCKER_CLI_PLUGIN_"):  # not the plugin handshake
            child_env[name] = value
    return DockerRun(argv, child_env, image_at)


def _list(items: tuple[str, ...], settings: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for item in items:
        rendered = render(item, settings) if "{{" in item else item
        out += [str(v) for v in rendered] if isinstance(rendered, list) else [str(rendered)]
    return [v for v in out if v]


def _expand(
    text: str, env: dict[str, str], by_reference: set[str] | None = None, referenced: set[str] | None = None
) -> str:
    """`$VAR`/`${VAR}` replaced by env's value (unknown: empty), except the names in `by_reference`,
    which become `${VAR}` and are added to `referenced`."""

    def value(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if by_reference and name in by_reference:
            if referenced is not None:
                referenced.add(name)
            return "${" + name + "}"
        return env.get(name, "")

    return _VAR.sub(value, text)


def docker_executable() -> str:
    found = shutil.which("docker")
    if found is None:
        raise BackendError("the docker CLI is not on PATH: container servers need it")
    return found


class DockerSays:
    """The docker CLI's own error lines on a container server's stderr (`docker: Error response from
    daemon: …` when `docker run` fails: a bad user, mount or option), kept while the rest — the server's
    own output, which may hold anything — is dropped (shown with --verbose only). `file` is the write
    end of a pipe for the child's stderr; a thread drains the other end, holding at most MAX_LINE bytes
    of a line and the first MAX_KEPT such lines."""

    MAX_LINE = 1000
    MAX_KEPT = 3

    def __init__(self) -> None:
        import threading

        read, write = os.pipe()
        self.file = os.fdopen(write, "w")
        self._read = read
        self._lines: list[str] = []
        self._drained = threading.Thread(target=self._drain, name="docker-stderr", daemon=True)
        self._drained.start()

    def _drain(self) -> None:
        partial = b""
        try:
            while chunk := os.read(self._read, 65536):
                *lines, partial = (partial + chunk).split(b"\n")
                partial = partial[: self.MAX_LINE]
                for line in lines:
                    self._keep(line[: self.MAX_LINE])
            self._keep(partial)
        finally:
            os.close(self._read)

    def _keep(self, raw: bytes) -> None:
        line = raw.decode(errors="replace").strip()
        if line.startswith("docker: ") and len(self._lines) < self.MAX_KEPT:
            self._lines.append(line)

    def spawned(self) -> None:
        """The child has its copy of the write end: close ours, so that the reader sees the end with it."""
        self.file.close()

    def said(self, wait: float) -> str:
        """docker's first error line, terminal-safe ("" when none), waiting up to `wait` seconds for the
        child to end when it has said nothing yet."""
        from ..errors import untrusted_text

        if not self._lines:
            self._drained.join(wait)
        return (untrusted_text(self._lines[0], limit=300) or "") if self._lines else ""

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()


def _cli_environment() -> dict[str, str]:
    """The gateway's environment for a docker CLI child of its own (inspect, pull): its DOCKER_HOST,
    context and config, without the plugin handshake's variables."""
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("DOCKER_CLI_PLUGIN_")}


def _last_line(text: str) -> str:
    from ..errors import untrusted_text

    lines = [line for line in text.splitlines() if line.strip()]
    return (untrusted_text(lines[-1], limit=300) or "") if lines else ""


def image_present(image: str) -> bool:
    """Whether the engine has `image` (`docker image inspect`, through the docker CLI and so its context,
    as `docker run` will). Raises BackendError when the engine cannot tell (not running, unreachable)."""
    import subprocess

    done = subprocess.run(
        [docker_executable(), "image", "inspect", "--format", "{{.Id}}", image],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=_cli_environment(),
    )
    if done.returncode == 0:
        return True
    if "no such" in done.stderr.lower():  # "No such image: …" (docker 28), "no such object: …" (older)
        return False
    raise BackendError(f"cannot look for image {image} on the Docker engine: {_last_line(done.stderr)}")


def pull_image(image: str, progress: bool) -> None:
    """`docker pull IMAGE`, as the Go gateway pulls a missing image before starting its server
    (go-plugin-gateway.md §8.3). `progress`: docker's own progress display goes to this process's stderr
    (a terminal); otherwise its output is kept for the error. Never on stdout: that is stdio's channel.
    Raises BackendError, one line saying how to pull it by hand, when the pull fails."""
    import subprocess

    done = subprocess.run(
        [docker_executable(), "pull", image],
        stdin=subprocess.DEVNULL,
        stdout=2 if progress else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_cli_environment(),
    )
    if done.returncode != 0:
        why = _last_line(done.stderr) or _last_line(done.stdout or "") or f"exit status {done.returncode}"
        raise BackendError(
            f"image {image} is not on the Docker engine and pulling it failed ({why}): "
            f"pull it with 'docker pull {image}' (or build it), then start again"
        )


NAMESPACE_LABEL = "docker-mcp-gateway-pidns"  # where the PID of the docker-mcp-gateway label means something


def pid_namespace() -> str:
    """Where this process's PID means something: the kernel's boot id and this PID namespace's inode,
    "BOOT_ID/INODE" (a gateway in a container has a namespace of its own; one on another machine, sharing
    the engine, another boot id). "" when /proc does not tell."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            boot = f.read().strip()
        inode = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return ""
    return f"{boot}/{inode}" if boot else ""


def remove_orphans() -> int:
    """Remove the containers a gateway left behind when it was killed: their `docker-mcp-gateway` label
    names a PID that no longer runs, in this gateway's own PID namespace on this machine (their
    `docker-mcp-gateway-pidns` label is `pid_namespace()`). Containers of gateways elsewhere (in another
    container, on another machine sharing the engine), whose PIDs this one cannot see, and containers
    without that label are left alone. Returns how many were removed."""
    import docker

    here = pid_namespace()
    if not here:
        return 0
    client = docker.from_env()
    try:
        removed = 0
        mine = {"label": ["docker-mcp=true", "docker-mcp-gateway", f"{NAMESPACE_LABEL}={here}"]}
        for container in client.containers.list(all=True, filters=mine):
            owner = container.labels.get("docker-mcp-gateway", "")
            pid = owner.partition("-")[0]
            if pid.isdigit() and not _alive(int(pid)):
                container.remove(force=True)
                removed += 1
        return removed
    finally:
        client.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class NoEngine(Exception):
    """No Docker engine could be asked: docker-py's client could not be made (docker.from_env asks the
    engine for its API version, and raises DockerException when none answers or DOCKER_HOST is not
    usable)."""


def remove_containers(gateway_id: str) -> int:
    """Remove what this gateway started and left running (a crash of a server, a kill of the gateway);
    returns how many. Raises NoEngine when no engine can be asked, docker-py's errors (DockerException,
    requests' RequestException) when listing or removing fails."""
    import docker

    try:
        client = docker.from_env()
    except docker.errors.DockerException as e:
        raise NoEngine(str(e)) from e
    try:
        leftovers = client.containers.list(all=True, filters={"label": f"docker-mcp-gateway={gateway_id}"})
        for container in leftovers:
            container.remove(force=True)
        return len(leftovers)
    finally:
        client.close()
