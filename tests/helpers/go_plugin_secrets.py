"""Named secrets written where, and as, Docker's Go plugin writes them (issue 17): a `docker pass` entry
as the Secrets Engine serves it (into the Desktop stand-in), and an earlier `sm_NAME` entry in a real
docker-credential-pass store."""

from __future__ import annotations

import base64
import json
import os
import subprocess

from tests.servers.desktop_standin import DesktopBackend


def plant_in_docker_pass(standin: DesktopBackend, name: str, value: str) -> None:
    """A secret as the Go plugin's `docker mcp secret set NAME` stores it, `docker pass set
    docker/mcp/NAME` with the value on stdin (docker/mcp-gateway@2bd20fe8
    cmd/docker-mcp/secret-management/secret/credstore.go:28-32, 77-90), and as the Secrets Engine then
    answers the Go plugin's GetSecrets (secretsengine.go:21-36, 40-62): an envelope with the ID and the
    value in protobuf JSON's base64."""
    secret_id = f"docker/mcp/{name}"
    standin.secrets[secret_id] = {
        "id": secret_id,
        "value": base64.b64encode(value.encode()).decode(),
        "provider": "docker-pass",
        "metadata": {},
    }


def plant_sm_entry(pass_env: dict[str, str], name: str, value: str, username: str = "mcp") -> None:
    """A secret as the Go plugin stored it before docker/mcp-gateway 367e8e61: server URL `sm_NAME`,
    username `mcp` (367e8e61^:cmd/docker-mcp/secret-management/secret/credstore.go:23-25, 35-41), in
    docker-credential-pass on Linux (367e8e61^:pkg/desktop/sockets_linux.go:47-54), sent by
    docker-credential-helpers' client.Store: the Credentials JSON, Go's json.Encoder form, on stdin."""
    payload = json.dumps({"ServerURL": f"sm_{name}", "Username": username, "Secret": value}, separators=(",", ":"))
    subprocess.run(
        ["docker-credential-pass", "store"],
        input=payload + "\n",
        env={**os.environ, **pass_env},
        check=True,
        capture_output=True,
        text=True,
    )


def sm_entry(pass_env: dict[str, str], name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker-credential-pass", "get"],
        input=f"sm_{name}",
        env={**os.environ, **pass_env},
        capture_output=True,
        text=True,
    )
