"""The MCP conformance suite's client adapter: a user of `docker mcp` meeting the scenario's server.

    npx --no conformance client --command "PYTHON tests/conformance/client_adapter.py" --scenario NAME

The suite appends the scenario server's URL and sets MCP_CONFORMANCE_SCENARIO and, for some scenarios,
MCP_CONFORMANCE_CONTEXT (JSON: a pre-registered client's client_id and client_secret, or its client_id,
private_key_pem and signing_algorithm, the tool calls to make, and keys for grants this plugin does not
have). Everything goes through the real docker CLI and the
plugin in $DOCKER_CONFIG/cli-plugins, as a user would do it:
- a catalog file with a `type: remote` entry for the URL; an `auth/` scenario's server is marked as using
  OAuth as Docker's catalog marks one (`oauth.providers`), with the URL of the client ID metadata document
  this user publishes (`oauth.clientMetadataUrl`: the suite's, CLIENT_METADATA_URL; used only where the
  authorization server advertises client ID metadata documents), or, instead, with `oauth.credentials` when
  the context gives a pre-registered client, whose secret (or PEM private key) is set with `docker mcp secret
  set`; in a `client-credentials` scenario the user knows the client is a machine client: `grantType:
  client_credentials`, and with a key `tokenEndpointAuthMethod: private_key_jwt`, `privateKey` (the key's
  secret) and the context's `signingAlgorithm`;
- `catalog import`, `server enable`, `tools ls`, then `tools call`: the context's tool calls, else one
  listed tool with a plain value for each required argument: the first, or the one that takes a `schema`,
  given the other listed tool's input schema (the JSON Schema scenario compares what comes back);
- whenever the plugin says to run `docker mcp oauth authorize X`, that, with `--open-browser` and a
  "browser" that fetches the URL following redirects (the suite's authorization endpoint redirects at once,
  with the code, to the plugin's loopback callback) on a free `--callback-port`; a tools command that asked
  for it is retried once.
The environment (a throwaway HOME and DOCKER_CONFIG with a credsStore, DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS=1
for the suite's plain-http loopback servers) comes from tests/e2e/test_conformance_client.py.
Exit status 1 when a step or a tool call fails. No secret is printed: the client secret and the private
key go on stdin.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

SERVER = "conformance"
SECRET = f"{SERVER}.client_secret"
KEY = f"{SERVER}.private_key"
# The client ID metadata document the suite's auth/basic-cimd expects as client_id (the TypeScript
# reference client's); the suite's authorization server does not fetch it.
CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json"
ASKS_TO_AUTHORIZE = re.compile(r"run 'docker mcp oauth authorize ([\w.-]+)'", re.IGNORECASE)
BROWSER = "curl -sSL -o /dev/null %s"  # follows the authorization endpoint's redirect to the callback
PLAIN = {"number": 1, "integer": 1, "boolean": True, "string": "conformance", "array": [], "object": {}}


def docker_mcp(
    *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """One `docker mcp …` command, its output passed on (the suite keeps it in stdout.txt / stderr.txt)."""
    print(f"$ docker mcp {' '.join(args)}", flush=True)
    r = subprocess.run(
        ["docker", "mcp", *args], input=input, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    if r.returncode:
        print(f"(exit {r.returncode})", flush=True)
    return r


def authorize_if_asked(r: subprocess.CompletedProcess[str]) -> bool:
    """`oauth authorize` as the plugin's output asks ("run 'docker mcp oauth authorize X'"), if it does."""
    asked = ASKS_TO_AUTHORIZE.search(r.stdout + r.stderr)
    if asked:
        port = str(free_port())  # never the default 54321: scenarios run side by side
        docker_mcp(
            "oauth", "authorize", asked[1], "--open-browser", "--callback-port", port, "--timeout", "5",
            env={"BROWSER": BROWSER},
        )  # fmt: skip
    return asked is not None


def tools(*args: str) -> subprocess.CompletedProcess[str]:
    """A tools command, retried once after authorizing when the plugin asks for authorization."""
    r = docker_mcp("tools", *args)
    return docker_mcp("tools", *args) if authorize_if_asked(r) else r


def catalog_entry(
    url: str, oauth: bool, client_id: str | None, secret: bool, machine: bool = False, key_alg: str | None = None
) -> str:
    lines = [f"name: {SERVER}", "type: remote", "remote:", f"  url: {url}"]
    if oauth:
        lines += ["oauth:", "  providers:", f"    - provider: {SERVER}"]
        if client_id is None:  # a pre-registered client and a metadata document URL are one too many
            lines.append(f"  clientMetadataUrl: {CLIENT_METADATA_URL}")
    if client_id is not None:
        lines += ["  credentials:", f"    clientId: {json.dumps(client_id)}"]
        if machine:
            lines.append("    grantType: client_credentials")
    if key_alg is not None:
        lines += ["    tokenEndpointAuthMethod: private_key_jwt", f"    privateKey: {KEY}",
                  f"    signingAlgorithm: {key_alg}", "secrets:", f"  - name: {KEY}"]  # fmt: skip
    if secret:
        lines += [f"    clientSecret: {SECRET}", "secrets:", f"  - name: {SECRET}", "    env: CONFORMANCE_SECRET"]
    return "\n".join(lines) + "\n"


def chosen_call(listed: list[dict[str, Any]]) -> dict[str, Any]:
    """The tool to call, with a value of its type for each required argument (`schema`: the docstring says)."""
    tool = next((t for t in listed if "schema" in t["inputSchema"].get("required", [])), listed[0])
    others = [t["inputSchema"] for t in listed if t is not tool]
    properties = tool["inputSchema"].get("properties", {})
    arguments = {
        name: others[0]
        if name == "schema" and others
        else PLAIN.get(properties.get(name, {}).get("type"), "conformance")
        for name in tool["inputSchema"].get("required", [])
    }
    return {"name": tool["name"], "arguments": arguments}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(url: str) -> int:
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    oauth = os.environ["MCP_CONFORMANCE_SCENARIO"].startswith("auth/")  # a user knows whether a server uses OAuth
    client_id = context.get("client_id") if oauth else None
    secret = context.get("client_secret") if client_id is not None else None
    key = context.get("private_key_pem") if client_id is not None else None
    machine = "client-credentials" in os.environ["MCP_CONFORMANCE_SCENARIO"]  # the user knows their client's grant
    key_alg = (context.get("signing_algorithm") or "RS256") if key is not None else None
    catalog = Path.home() / f"{SERVER}.yaml"
    catalog.write_text(catalog_entry(url, oauth, client_id, secret is not None, machine, key_alg))
    if secret is not None and docker_mcp("secret", "set", SECRET, input=secret).returncode:
        return 1
    if key is not None and docker_mcp("secret", "set", KEY, input=key).returncode:
        return 1
    if docker_mcp("catalog", "import", str(catalog)).returncode:
        return 1
    enabled = docker_mcp("server", "enable", SERVER)
    if enabled.returncode:
        return 1
    authorize_if_asked(enabled)  # "OAuth server X enabled. Run 'docker mcp oauth authorize X' to authenticate"
    r = tools("ls", "--format", "json")
    listed = json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else []
    if not listed:
        print("no tool listed: nothing to call", file=sys.stderr)
        return 1
    calls = context.get("toolCalls") or [chosen_call(listed)]
    results = [tools("call", c["name"], *(f"{k}={json.dumps(v)}" for k, v in c["arguments"].items())) for c in calls]
    return 1 if any(r.returncode for r in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[-1]))
