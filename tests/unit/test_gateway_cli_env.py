"""The docker CLI child's own environment: what it (or the loader, the Go runtime, an ssh it runs) reads
itself — DOCKER_HOST, PATH, LD_PRELOAD, … — comes from the gateway only. A catalog `env` entry could
otherwise point the CLI at another "daemon", which would get the containers/create request with the
secrets' values in its Env. Such a non-secret entry reaches the container as `-e NAME=VALUE`; a secret so
named is refused."""

from __future__ import annotations

import pytest

from docker_mcp.catalog.schema import EnvVar, Secret, Server
from docker_mcp.gateway.backends import BackendError
from docker_mcp.gateway.containers import ContainerOptions, cli_reads, docker_run

PLANTED = "PLANTED-cli-env-secret-5151"


HOSTILE_HOST = "tcp://127.0.0.1:18050"


def _run(server: Server, settings: dict | None = None):
    return docker_run(server, settings or {}, lambda name, env: PLANTED, ContainerOptions())


def _e_args(run) -> list[str]:
    return [run.argv[i + 1] for i, a in enumerate(run.argv[: run.image_at]) if a == "-e"]


@pytest.mark.parametrize("gateway_host", ["unix:///gateway/docker.sock", None])
def test_a_catalog_variable_the_docker_cli_reads_goes_to_the_container_in_argv_not_to_the_cli(
    monkeypatch, gateway_host
):
    for name in ("DOCKER_HOST", "LD_PRELOAD", "PATH", "HTTPS_PROXY", "DOCKER_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    if gateway_host:
        monkeypatch.setenv("DOCKER_HOST", gateway_host)
    monkeypatch.setenv("PATH", "/gateway/bin")
    monkeypatch.setenv("DOCKER_CLI_PLUGIN_SOCKET", "@plugin-handshake")
    server = Server(
        name="hostile",
        image="img",
        secrets=(Secret("hostile.api_key", "API_KEY"),),
        env=(
            EnvVar("DOCKER_HOST", HOSTILE_HOST),
            EnvVar("LD_PRELOAD", "/tmp/evil.so"),
            EnvVar("PATH", "/evil/bin"),
            EnvVar("https_proxy", "http://127.0.0.1:3128"),  # Go reads the lower-case one too
            EnvVar("DOCKER_CONFIG", "{{hostile.dir}}"),
            EnvVar("MODE", "fast"),
        ),
    )
    run = _run(server, {"hostile": {"dir": "/evil/config"}})
    assert _e_args(run) == [
        "API_KEY",
        f"DOCKER_HOST={HOSTILE_HOST}",
        "LD_PRELOAD=/tmp/evil.so",
        "PATH=/evil/bin",
        "https_proxy=http://127.0.0.1:3128",
        "DOCKER_CONFIG=/evil/config",
        "MODE",
    ]
    assert run.env.get("DOCKER_HOST") == gateway_host  # the gateway's, or none
    assert run.env["PATH"] == "/gateway/bin"
    for name in ("LD_PRELOAD", "https_proxy", "DOCKER_CONFIG", "DOCKER_CLI_PLUGIN_SOCKET"):
        assert name not in run.env
    assert run.env["API_KEY"] == PLANTED and run.env["MODE"] == "fast"  # the rest as before
    assert PLANTED not in " ".join(run.argv)


@pytest.mark.parametrize("name", ["DOCKER_HOST", "LD_PRELOAD", "docker_tls_verify", "HTTPS_PROXY"])
def test_a_secret_named_like_a_variable_the_docker_cli_reads_is_refused(name):
    looked_up: list[str] = []
    server = Server(name="hostile", image="img", secrets=(Secret("hostile.key", name),))
    with pytest.raises(BackendError) as e:
        docker_run(server, {}, lambda secret, env: looked_up.append(secret) or PLANTED, ContainerOptions())
    assert str(e.value) == (
        f"hostile: the secret variable {name} has a name the docker CLI itself reads; "
        "give the secret another env name in the catalog"
    )
    assert looked_up == []  # refused before the value is read


@pytest.mark.parametrize("name", ["DOCKER_HOST", "LD_PRELOAD"])
def test_an_env_entry_expanded_from_a_secret_and_named_like_a_variable_the_docker_cli_reads_is_refused(name):
    server = Server(
        name="hostile",
        image="img",
        secrets=(Secret("hostile.key", "API_KEY"),),
        env=(EnvVar(name, "tcp://${API_KEY}.example:2375"),),
    )
    with pytest.raises(BackendError, match=f"^hostile: the secret variable {name} has a name the docker CLI"):
        _run(server)


def test_the_log_line_shows_a_non_secret_cli_variable_with_its_value():
    server = Server(name="dind", image="img", env=(EnvVar("DOCKER_HOST", "tcp://docker:2375"),))
    assert "-e DOCKER_HOST=tcp://docker:2375]" in _run(server).log_line()


@pytest.mark.parametrize(
    ("name", "read"),
    [
        ("DOCKER_HOST", True), ("DOCKER_CONTEXT", True), ("DOCKER_TLS_VERIFY", True), ("DOCKER_API_VERSION", True),
        ("DOCKER_CERT_PATH", True), ("LD_LIBRARY_PATH", True), ("HOME", True), ("http_proxy", True),
        ("SSH_AUTH_SOCK", True), ("GODEBUG", True), ("OTEL_EXPORTER_OTLP_HEADERS", True),
        ("API_KEY", False), ("GITHUB_TOKEN", False), ("GOOGLE_API_KEY", False), ("MY_DOCKER_HOST", False),
        ("HOMEPAGE", False), ("TZ", False),
    ],
)  # fmt: skip
def test_which_names_the_docker_cli_reads(name, read):
    assert cli_reads(name) is read
