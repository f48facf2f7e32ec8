"""Secrets reach a container server by environment only: a `$VAR` in `command` naming a secret-derived
variable stays the literal `${VAR}` in the `docker run` argv, its value is in the docker CLI's
environment, and no log line — --verbose's included — holds the value."""

from __future__ import annotations

import logging

import pytest

from docker_mcp.catalog.schema import EnvVar, Secret, Server
from docker_mcp.gateway.config import GatewayConfig
from docker_mcp.gateway.containers import ContainerOptions, docker_run
from docker_mcp.gateway.run import RunOptions, make_backend
from docker_mcp.secrets.resolver import SecretSources

PLANTED = "PLANTED-argv-secret-4242"

SERVER = Server(
    name="argv",
    image="mcp-args:test@sha256:" + "0" * 64,
    secrets=(Secret("argv.api_key", "API_KEY"),),
    env=(
        EnvVar("AUTH_HEADER", "Bearer ${API_KEY}"),  # derived from the secret: a secret too
        EnvVar("REGION", "eu-{{argv.zone}}"),
        EnvVar("GREETING", "hello $REGION"),
    ),
    command=("--token", "${API_KEY}", "--header=$AUTH_HEADER", "--region=$REGION", "{{argv.extra}}", "$GREETING"),
)
SETTINGS = {"argv": {"zone": "west", "extra": ["--a", "--b"]}}


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def gateway_log():
    """What the gateway logs at INFO (--verbose), whatever configure_logging did before."""
    logger = logging.getLogger("docker_mcp.gateway")
    handler, level = Lines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_secret_referenced_in_command_stays_a_reference_and_its_value_is_only_in_the_environment(gateway_log):
    run = docker_run(SERVER, SETTINGS, lambda name, env: PLANTED, ContainerOptions())
    assert [arg for arg in run.argv if PLANTED in arg] == []
    assert run.argv[run.image_at + 1 :] == [
        "--token", "${API_KEY}", "--header=${AUTH_HEADER}", "--region=eu-west", "--a", "--b", "hello eu-west",
    ]  # fmt: skip
    assert run.env["API_KEY"] == PLANTED and run.env["AUTH_HEADER"] == f"Bearer {PLANTED}"
    passed = [run.argv[i + 1] for i, a in enumerate(run.argv[: run.image_at]) if a == "-e"]
    assert passed == ["API_KEY", "AUTH_HEADER", "REGION", "GREETING"]  # names only: docker reads the values from env
    assert gateway_log == [
        "! argv: command passes API_KEY, AUTH_HEADER as a reference (${NAME}), not a value: a secret reaches a "
        "container only through its environment, where the server can expand it"
    ]
    assert PLANTED not in repr(run)


def test_a_command_without_secret_references_expands_as_the_go_gateway_does_and_warns_nothing(gateway_log):
    server = Server(
        name="plain",
        image="img",
        secrets=(Secret("plain.key", "KEY"),),
        env=(EnvVar("MODE", "fast"),),
        command=("--mode=$MODE", "${UNKNOWN}x"),
    )
    run = docker_run(server, {}, lambda name, env: PLANTED, ContainerOptions())
    assert run.argv[-3:] == ["img", "--mode=fast", "x"]
    assert gateway_log == []


def test_the_verbose_log_of_a_container_server_never_holds_the_secret_value(gateway_log):
    sources = SecretSources(secrets_dir="/nonexistent", environ={"API_KEY": PLANTED})
    options = RunOptions(verbose=True)
    make_backend(
        SERVER, sources, lambda server: None, GatewayConfig(servers={"argv": SERVER}, settings=SETTINGS), options
    )
    err = "\n".join(gateway_log)
    assert PLANTED not in err
    assert "    - API_KEY: from environment API_KEY" in err
    [running] = [line for line in err.splitlines() if "Running " in line]
    assert running.startswith("  - Running mcp-args:test with [run --rm -i --init ")
    assert running.endswith(
        "-e API_KEY -e AUTH_HEADER -e REGION -e GREETING] and command "
        "[--token ${API_KEY} --header=${AUTH_HEADER} --region=eu-west --a --b hello eu-west]"
    )
