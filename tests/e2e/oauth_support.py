"""Shared pieces of the OAuth e2e tests: a user whose docker CLI has the plugin and docker-credential-pass,
a catalog entry written for a test's servers, and reading what authorize stored."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Plugin
from tests.servers.desktop_standin import DesktopBackend

HELPERS = Path(__file__).resolve().parent.parent / "helpers"
STANDIN_BIN = Path(__file__).resolve().parent.parent / "servers" / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class OAuthUser:
    plugin: Plugin
    tmp: Path
    browser_log: Path
    outputs: list[str]  # every stdout and stderr captured, for the leak check
    helper: str = "pass"  # the credential helper the plugin stores in: "desktop" in Desktop mode

    def docker(self, *args: str, input: str | None = None, env: dict[str, str] | None = None):
        r = self.plugin.docker(*args, input=input, env=env)
        self.outputs += [r.stdout, r.stderr]
        return r

    def ok(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> str:
        r = self.docker(*args, input=input, env=env)
        assert r.returncode == 0, f"{args}: {r.stdout}\n{r.stderr}"
        return r.stdout

    def import_server(self, text: str, name: str = "server.yaml") -> None:
        path = self.tmp / name
        path.write_text(text)
        self.ok("mcp", "catalog", "import", str(path))

    def authorize(
        self, server: str, port: int, *extra: str, action: str = "approve", browser: str = "browser_approve.py"
    ):
        """`docker mcp oauth authorize SERVER --open-browser`, the browser being a scripted user agent."""
        env = {
            "BROWSER": f"{sys.executable} {HELPERS / browser} %s",
            "BROWSER_ACTION": action,
        }
        return self.docker(
            "mcp", "oauth", "authorize", server, "--open-browser", "--callback-port", str(port),
            "--timeout", "30", *extra, env=env,
        )  # fmt: skip

    def browser_records(self) -> list[dict[str, Any]]:
        if not self.browser_log.exists():
            return []
        return [json.loads(line) for line in self.browser_log.read_text().splitlines()]

    def stored(self, server: str, helper: str | None = None) -> tuple[Any, Any]:
        """The client record and token the credential helper (docker-credential-pass, or the
        docker-credential-desktop stand-in in Desktop mode) holds for the server."""
        from docker_mcp.oauth.clients import load_client
        from docker_mcp.oauth.tokens import load_token

        with self.store(helper) as store:
            record = load_client(store, server)
            return record, load_token(store, record) if record else None

    @contextmanager
    def store(self, helper: str | None = None) -> Iterator[Any]:
        """The user's credential helper, with the user's environment (docker-py finds the helper on
        this process's PATH, and pass needs GNUPGHOME and PASSWORD_STORE_DIR)."""
        from docker_mcp.secrets.store import HelperStore

        keys = ("PATH", "GNUPGHOME", "PASSWORD_STORE_DIR", "DESKTOP_CREDENTIALS_FILE")
        saved = {k: os.environ.get(k) for k in keys}
        os.environ.update({k: self.plugin.env[k] for k in keys if k in self.plugin.env})
        try:
            yield HelperStore(helper or self.helper)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    @contextmanager
    def in_mode(self, mode: str) -> Iterator[DesktopBackend | None]:
        """CE mode as it is (no Desktop answers /ping), or Docker Desktop mode: the Desktop stand-in on
        its sockets under HOME and the docker-credential-desktop stand-in on PATH."""
        if mode == "ce":
            yield None
            return
        assert mode == "desktop", mode
        self.plugin.env["PATH"] = f"{STANDIN_BIN}:{self.plugin.env['PATH']}"
        self.plugin.env["DESKTOP_CREDENTIALS_FILE"] = str(self.tmp / "desktop-credentials.json")
        self.helper = "desktop"
        with DesktopBackend(self.plugin.home) as desktop:
            self.plugin.env["XDG_CACHE_HOME"] = desktop.cache_dir  # where the plugin finds the Secrets Engine
            yield desktop

    def assert_nothing_leaked(self, *planted: str) -> None:
        texts = [*self.outputs, self.browser_log.read_text() if self.browser_log.exists() else ""]
        for value in planted:
            if value:
                for text in texts:
                    assert value not in text, f"a secret leaked: {text[:300]}"


def remote_entry(
    name: str,
    url: str,
    *,
    client_id: str | None = None,
    secret: bool = False,
    method: str | None = None,
    authorization_endpoint: str | None = None,
    token_endpoint: str | None = None,
    redirect_uri: str | None = None,
    scopes: tuple[str, ...] = (),
) -> str:
    lines = [f"name: {name}", "type: remote", "remote:", f"  url: {url}"]
    if scopes or client_id:
        lines.append("oauth:")
    if scopes:
        lines.append(f"  scopes: [{', '.join(scopes)}]")
    if client_id:
        lines += ["  credentials:", f'    clientId: "{client_id}"']
        if secret:
            lines.append(f"    clientSecret: {name}.client_secret")
        for key, value in (
            ("authorizationEndpoint", authorization_endpoint),
            ("tokenEndpoint", token_endpoint),
            ("redirectUri", redirect_uri),
            ("tokenEndpointAuthMethod", method),
        ):
            if value:
                lines.append(f"    {key}: {value}")
    if secret:
        lines += ["secrets:", f"  - name: {name}.client_secret", f"    env: {name.upper().replace('-', '_')}_SECRET"]
    return "\n".join(lines) + "\n"
