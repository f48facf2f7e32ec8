"""A real authorization server for the tests: oidc-provider (npm, v9) from tests/servers/oidc.

    from tests.helpers.oidc import start_oidc, resource_server_client

    with start_oidc(tmp_path, {"resource": mcp_url, "clients": [...], "registration": True}) as oidc:
        oidc.issuer                    # "http://127.0.0.1:PORT"
        oidc.metadata()                # RFC 8414 metadata (GET /.well-known/oauth-authorization-server)
        oidc.requests()                # the request log: one dict per HTTP request, parameter names only
        oidc.count("/token")           # how many requests hit paths starting with /token

The config keys are those server.mjs documents (clients, registration, resource, scopes, accessTokenTTL,
refreshTokenTTL, refreshTokens, rotateRefreshToken, tokenEndpointAuthMethods, clientCredentials, requestLog,
port).
The node process is always stopped: on leaving the `with` block, on stop(), and at interpreter exit.
"""

from __future__ import annotations

import atexit
import base64
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

SERVER_DIR = Path(__file__).resolve().parent.parent / "servers" / "oidc"
START_TIMEOUT = 30.0
STOP_GRACE = 5.0

_running: set[OidcServer] = set()


class OidcError(RuntimeError):
    """The authorization server could not be installed or started."""


def resource_server_client(
    client_id: str = "resource-server", secret: str = "resource-server-secret"
) -> dict[str, Any]:
    """Client metadata for a confidential client with no grants: a resource server that introspects tokens."""
    return {
        "client_id": client_id,
        "client_secret": secret,
        "token_endpoint_auth_method": "client_secret_basic",
        "redirect_uris": [],
        "grant_types": [],
        "response_types": [],
    }


def pkce_pair() -> tuple[str, str]:
    """A PKCE code_verifier and its S256 code_challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def ensure_installed() -> None:
    """`npm ci` in tests/servers/oidc when node_modules is missing (under a lock, once)."""
    if shutil.which("node") is None:
        raise OidcError(
            "node is not installed: the OAuth tests run oidc-provider on Node.js 20+ (scripts/test installs it)"
        )
    marker = SERVER_DIR / "node_modules" / "oidc-provider" / "package.json"
    if marker.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise OidcError("npm is not installed: it installs oidc-provider into tests/servers/oidc/node_modules")
    with open(SERVER_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=SERVER_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0 or not marker.exists():
            raise OidcError(f"npm ci in {SERVER_DIR} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


class OidcServer:
    """One oidc-provider process. Start with start() (or `with`), stop with stop()."""

    def __init__(self, config_path: Path, workdir: Path) -> None:
        self.config_path = Path(config_path)
        self.config: dict[str, Any] = json.loads(self.config_path.read_text())
        self.workdir = Path(workdir)
        stem = self.config_path.stem
        self.stdout_path = self.workdir / f"{stem}.stdout"
        self.stderr_path = self.workdir / f"{stem}.stderr"
        self.log_path: Path | None = Path(self.config["requestLog"]) if self.config.get("requestLog") else None
        self.process: subprocess.Popen[bytes] | None = None
        self.issuer = ""
        self.port = 0

    # -- life cycle --

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, timeout: float = START_TIMEOUT) -> OidcServer:
        ensure_installed()
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(
                ["node", str(SERVER_DIR / "server.mjs"), str(self.config_path)],
                cwd=SERVER_DIR,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        _running.add(self)
        deadline = time.monotonic() + timeout
        while True:
            ready = self._ready_line()
            if ready is not None:
                self.issuer, self.port = ready["issuer"], int(ready["port"])
                return self
            if self.process.poll() is not None:
                code = self.process.returncode
                self.stop()
                raise OidcError(f"oidc-provider exited with {code} before listening:\n{self.stderr()}")
            if time.monotonic() > deadline:
                self.stop()
                raise OidcError(f"oidc-provider did not start within {timeout} s:\n{self.stderr()}")
            time.sleep(0.02)

    def _ready_line(self) -> dict[str, Any] | None:
        for line in self.stdout_path.read_text(errors="replace").splitlines():
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict) and "issuer" in data and "port" in data:
                return data
        return None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s; idempotent."""
        process, self.process = self.process, None
        _running.discard(self)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> OidcServer:
        if self.process is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what it serves --

    @property
    def resource(self) -> str | None:
        """The config's resource (the first, when it lists several)."""
        resource = self.config.get("resource")
        if isinstance(resource, list):
            return str(resource[0]) if resource else None
        return resource

    def url(self, path: str) -> str:
        return self.issuer + path

    def metadata(self, openid: bool = False) -> dict[str, Any]:
        path = "/.well-known/openid-configuration" if openid else "/.well-known/oauth-authorization-server"
        response = requests.get(self.url(path), timeout=10)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def authorization_url(
        self,
        client_id: str,
        redirect_uri: str,
        *,
        code_challenge: str | None,
        state: str,
        scope: str | None = "mcp:tools",
        resource: str | None = None,
        **extra: str,
    ) -> str:
        """An authorization request (response_type=code, S256) built by hand. None or "" leaves a parameter
        out, except resource: None means the config's resource, "" none at all."""
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256" if code_challenge else None,
            "resource": resource if resource is not None else self.resource,
            **extra,
        }
        query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
        return f"{self.url('/auth')}?{query}"

    def get_tokens(
        self,
        client: dict[str, Any],
        *,
        scope: str = "mcp:tools",
        resource: str | None = None,
        redirect_uri: str | None = None,
        login: str = "alice",
    ) -> dict[str, Any]:
        """A whole authorization code flow for `client` (metadata as in the config), with no callback server:
        returns the token response (access_token, refresh_token, expires_in, ...). For tests that need a
        real token without going through docker-mcp.
        """
        from tests.helpers.user_agent import approve, callback_params

        redirect_uri = redirect_uri or client["redirect_uris"][0]
        resource = resource if resource is not None else self.resource
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(16)
        url = self.authorization_url(
            client["client_id"], redirect_uri, code_challenge=challenge, state=state, scope=scope, resource=resource
        )
        params = callback_params(approve(url, login=login, follow_callback=False))
        if "code" not in params or params.get("state") != state:
            raise OidcError(f"authorization failed: {params.get('error')} {params.get('error_description')}")
        data = {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "resource": resource,
        }
        response = token_request(self.url("/token"), client, data)
        if response.status_code != 200:
            raise OidcError(f"token request failed: {response.status_code} {response.text}")
        tokens: dict[str, Any] = response.json()
        return tokens

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- the request log --

    def requests(self) -> list[dict[str, Any]]:
        """Every logged request: {method, path, query_keys, auth_scheme, body_keys, status}."""
        if self.log_path is None or not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]

    def count(self, path_prefix: str, method: str | None = None) -> int:
        """How many logged requests had a path starting with path_prefix (and the method, if given)."""
        return sum(
            1
            for entry in self.requests()
            if entry["path"].startswith(path_prefix) and (method is None or entry["method"] == method.upper())
        )

    def log_text(self) -> str:
        """The raw request log, e.g. to assert that no secret or token value appears in it."""
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""


def token_request(url: str, client: dict[str, Any], data: dict[str, Any]) -> requests.Response:
    """POST to a token (or introspection, revocation) endpoint, authenticating as the client's
    token_endpoint_auth_method says: client_secret_basic (the default), client_secret_post, or none."""
    method = client.get("token_endpoint_auth_method", "client_secret_basic")
    data = {k: v for k, v in data.items() if v not in (None, "")}
    auth = None
    if method == "client_secret_basic":
        auth = (client["client_id"], client["client_secret"])
    elif method == "client_secret_post":
        data.update(client_id=client["client_id"], client_secret=client["client_secret"])
    elif method == "none":
        data["client_id"] = client["client_id"]
    else:
        raise ValueError(f"unsupported token_endpoint_auth_method {method!r}")
    return requests.post(url, data=data, auth=auth, timeout=10)


def start_oidc(tmp_path: str | os.PathLike[str], config: dict[str, Any]) -> OidcServer:
    """Write config (adding a requestLog in tmp_path unless given) and start the server; returns it running.

    Use it as a context manager, or call stop() (a pytest finalizer, say); at the latest it is stopped
    when the interpreter exits.
    """
    workdir = Path(tmp_path)
    workdir.mkdir(parents=True, exist_ok=True)
    n = 0
    while (workdir / f"oidc-{n}.json").exists():
        n += 1
    config = dict(config)
    config.setdefault("requestLog", str(workdir / f"oidc-{n}-requests.jsonl"))
    config_path = workdir / f"oidc-{n}.json"
    config_path.write_text(json.dumps(config, indent=2))
    return OidcServer(config_path, workdir).start()


@atexit.register
def _stop_all() -> None:
    for server in list(_running):
        server.stop()
