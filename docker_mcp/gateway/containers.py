"""Container servers: `docker run -i` spoken to through the MCP SDK's stdio client, with the Go plugin's
arguments (go-plugin-gateway.md §3.1). Secret values reach the container through the child's
environment (`-e NAME` without a value), never through argv."""

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


@dataclass(frozen=True)
class ContainerOptions:
    cpus: int = 1
    memory: str = "2Gb"
    gateway_id: str = ""  # a label on every container this gateway starts, for clean-up


@dataclass(frozen=True)
class DockerRun:
    argv: list[str]  # after `docker`
    env: dict[str, str]  # the docker CLI process's environment: where `-e NAME` takes values from

    def __repr__(self) -> str:  # the environment holds secret values
        return f"DockerRun(argv={self.argv!r}, env=<{len(self.env)} variables>)"


def docker_run(
    server: Server,
    settings: dict[str, Any],
    secret_value: Callable[[str, str], str],
    options: ContainerOptions,
) -> DockerRun:
    """The `docker run` command for a container server, and the environment it needs."""
    if not server.image:
        raise BackendError(f"{server.name}: a container server needs an image")
    env: dict[str, str] = {}
    for secret in server.secrets:
        if secret.env:
            env[secret.env] = secret_value(secret.name, secret.env)
    for item in server.env:
        value = item.value
        if "{{" in value and "}}" in value:
            rendered = render(value, settings)
            value = " ".join(map(str, rendered)) if isinstance(rendered, list) else str(rendered)
        else:
            value = _expand(value, env)
        if value:
            env[item.name] = value
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
    if server.disable_network:
        argv += ["--network", "none"]
    for name in env:
        argv += ["-e", name]
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
    argv.append(server.image)
    argv += [_expand(arg, env) for arg in _list(server.command, settings)]
    child_env = dict(env)
    for inherited in ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "DOCKER_CERT_PATH"):
        if inherited in os.environ and inherited not in child_env:
            child_env[inherited] = os.environ[inherited]  # the docker CLI itself needs these
    return DockerRun(argv, child_env)


def _list(items: tuple[str, ...], settings: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for item in items:
        rendered = render(item, settings) if "{{" in item else item
        out += [str(v) for v in rendered] if isinstance(rendered, list) else [str(rendered)]
    return [v for v in out if v]


def _expand(text: str, env: dict[str, str]) -> str:
    return _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), ""), text)


def docker_executable() -> str:
    found = shutil.which("docker")
    if found is None:
        raise BackendError("the docker CLI is not on PATH: container servers need it")
    return found


def remove_orphans() -> int:
    """Remove containers a gateway on this machine started and left behind when it was killed: their
    `docker-mcp-gateway` label names a process that no longer runs."""
    import docker

    client = docker.from_env()
    try:
        removed = 0
        for container in client.containers.list(all=True, filters={"label": ["docker-mcp=true", "docker-mcp-gateway"]}):
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


def remove_containers(gateway_id: str) -> int:
    """Remove what this gateway started and left running (a crash of a server, a kill of the gateway)."""
    import docker

    client = docker.from_env()
    try:
        leftovers = client.containers.list(all=True, filters={"label": f"docker-mcp-gateway={gateway_id}"})
        for container in leftovers:
            container.remove(force=True)
        return len(leftovers)
    finally:
        client.close()
