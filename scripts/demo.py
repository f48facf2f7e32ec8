"""scripts/demo's body (run it through scripts/demo, which prepares the machine first).

The path a user takes with a server that has no dynamic client registration, against real local parts:
oidc-provider as the authorization server (registration disabled, one pre-registered client), an MCP
server on the MCP SDK that accepts only that server's tokens (RFC 9728 metadata, 401 with
WWW-Authenticate), docker-credential-pass as the credential store, and the docker CLI running the
plugin from a temporary HOME. Each step prints the command it runs and what it printed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOCKER = shutil.which("docker") or "docker"
SERVER = "demo-notes"
CLIENT_ID = "docker-mcp-demo"
DIM, BOLD, RESET = ("\033[2m", "\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


def step(title: str) -> None:
    print(f"\n{BOLD}==> {title}{RESET}", flush=True)


def show(text: str) -> None:
    for line in text.rstrip("\n").splitlines():
        print(f"    {DIM}{line}{RESET}" if DIM else f"    {line}", flush=True)


class Demo:
    def __init__(self, workdir: Path, scripted: bool) -> None:
        self.workdir = workdir
        self.home = workdir / "home"
        self.config = self.home / ".docker"
        self.scripted = scripted
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "SHIV_"))}
        self.env.update(
            HOME=str(self.home),
            DOCKER_CONFIG=str(self.config),
            GNUPGHOME=str(workdir / "gnupg"),
            PASSWORD_STORE_DIR=str(self.home / ".password-store"),
            # the local servers speak plain http on 127.0.0.1, which the plugin refuses unless told
            DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS="1",
        )
        self.secret = "demo-secret-" + secrets.token_urlsafe(18)  # never printed

    def run(self, *args: str, input: str | None = None, shown: str | None = None) -> str:
        """Run a command as the demo's user, print it and its output; stop the demo if it fails."""
        print(f"$ {shown or shlex.join(args)}", flush=True)
        done = subprocess.run(list(args), env=self.env, input=input, capture_output=True, text=True, timeout=180)
        show(done.stdout + done.stderr)
        if self.secret in done.stdout + done.stderr:
            raise SystemExit("scripts/demo: the client secret appeared in the output; this is a bug")
        if done.returncode != 0:
            raise SystemExit(f"scripts/demo: {shown or shlex.join(args)} failed with exit status {done.returncode}")
        return done.stdout

    def docker(self, *args: str, input: str | None = None, shown: str | None = None) -> str:
        return self.run(DOCKER, *args, input=input, shown=shown or "docker " + shlex.join(args))

    # --- the steps ---

    def install(self) -> None:
        step("Install the plugin into a temporary HOME")
        self.config.mkdir(parents=True)
        self.run(str(ROOT / "scripts" / "install"), shown=f"DOCKER_CONFIG={self.config} scripts/install")
        self.docker("mcp", "version")

    def credential_store(self) -> None:
        step("A credential store for the secret and the tokens: docker-credential-pass")
        gnupg = Path(self.env["GNUPGHOME"])
        gnupg.mkdir(mode=0o700)
        subprocess.run(
            ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "docker-mcp-demo <demo@example.invalid>",
             "default", "default", "never"],
            env=self.env, check=True, capture_output=True,
        )  # fmt: skip
        listing = subprocess.run(
            ["gpg", "--list-keys", "--with-colons"], env=self.env, check=True, capture_output=True, text=True
        ).stdout
        fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))
        self.run("pass", "init", fingerprint)
        (self.config / "config.json").write_text(json.dumps({"credsStore": "pass"}, indent=2) + "\n")
        print(f'$ echo \'{{"credsStore": "pass"}}\' > {self.config}/config.json', flush=True)

    def servers(self, stack: list[object]) -> tuple[str, int]:
        from tests.helpers.oidc import resource_server_client, start_oidc
        from tests.servers.mcp_remote import RemoteMcpServer

        step("Start a local authorization server without dynamic registration, and an MCP server behind it")
        port = _free_port()
        remote = RemoteMcpServer(auth="oidc", tool_prefix="notes")
        client = {
            "client_id": CLIENT_ID,
            "client_secret": self.secret,
            "token_endpoint_auth_method": "client_secret_post",
            "redirect_uris": [f"http://127.0.0.1:{port}/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "scope": "mcp:tools",
        }
        config = {"resource": remote.resource, "clients": [client, resource_server_client()], "registration": False}
        oidc = start_oidc(self.workdir / "oidc", config)
        stack.append(oidc)
        remote.issuer, remote.introspection_client = oidc.issuer, resource_server_client()
        remote.start()
        stack.append(remote)
        metadata = oidc.metadata()
        show(
            f"authorization server  {oidc.issuer}  (oidc-provider, pid {oidc.pid}); "
            f"registration_endpoint: {metadata.get('registration_endpoint', 'none')}\n"
            f"MCP server            {remote.url}  (MCP SDK; 401 without a token from {oidc.issuer})\n"
            f"pre-registered client {CLIENT_ID}, its secret known to the authorization server only"
        )
        return remote.url, port

    def catalog(self, url: str, port: int) -> None:
        step("Import the server's catalog entry: a pre-registered client, its secret named, never written")
        entry = textwrap.dedent(
            f"""\
            name: {SERVER}
            type: remote
            title: Demo notes
            description: An OAuth-protected MCP server on this machine
            remote:
              url: {url}
            oauth:
              scopes: [mcp:tools]
              credentials:
                clientId: {CLIENT_ID}
                clientSecret: {SERVER}.client_secret
                redirectUri: http://127.0.0.1:{port}/callback
            secrets:
              - name: {SERVER}.client_secret
                env: DEMO_NOTES_CLIENT_SECRET
            """
        )
        path = self.workdir / f"{SERVER}.yaml"
        path.write_text(entry)
        print(f"$ cat {path.name}", flush=True)
        show(entry)
        self.docker("mcp", "catalog", "import", str(path), shown=f"docker mcp catalog import ./{path.name}")
        self.docker(
            "mcp", "secret", "set", f"{SERVER}.client_secret", input=self.secret,
            shown=f"docker mcp secret set {SERVER}.client_secret < client-secret.txt",
        )  # fmt: skip
        self.docker("mcp", "secret", "ls")
        self.docker("mcp", "server", "enable", SERVER)

    def authorize(self) -> None:
        display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        if display and not self.scripted:
            step("Authorize: sign in with any name and approve in your browser")
        else:
            step("Authorize: no display here, so a scripted user agent signs in and approves the consent page")
            browser = ROOT / "tests" / "helpers" / "browser_approve.py"
            self.env["BROWSER"] = f"{sys.executable} {browser} %s"
        self.docker("mcp", "oauth", "authorize", SERVER, "--open-browser", "--timeout", "120")
        self.docker("mcp", "oauth", "ls")

    def gateway(self) -> None:
        import anyio

        step("Run the gateway; an MCP client (the MCP SDK's) lists and calls the server's tools through it")
        print("$ docker mcp gateway run    # the enabled servers; an MCP client speaks to it on stdio", flush=True)
        result = anyio.run(self._client)
        show(result)

    async def _client(self) -> str:
        from mcp.client.session import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(command=DOCKER, args=["mcp", "gateway", "run"], env=self.env)
        errlog = open(self.workdir / "gateway.log", "w")  # noqa: SIM115 - closed below
        try:
            async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                tools = sorted(t.name for t in (await session.list_tools()).tools)
                echo = await session.call_tool("notes_echo", {"text": "hello from the demo"})
                who = await session.call_tool("notes_whoami", {})
        finally:
            errlog.close()
        if echo.is_error or who.is_error:
            raise SystemExit(f"scripts/demo: a tool call failed: {echo.content or who.content}")
        return (
            f"tools/list  -> {', '.join(tools)}\n"
            f'tools/call notes_echo {{"text": "hello from the demo"}} -> {echo.content[0].text}\n'
            f"tools/call notes_whoami {{}} -> {json.dumps(who.structured_content)}"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the temporary HOME and print how to use it")
    parser.add_argument("--scripted", action="store_true", help="approve with the scripted user agent")
    options = parser.parse_args(argv)

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="docker-mcp-demo-"))
    demo = Demo(workdir, options.scripted)
    stack: list[object] = []
    ok = False
    try:
        demo.install()
        demo.credential_store()
        url, port = demo.servers(stack)
        demo.catalog(url, port)
        demo.authorize()
        demo.gateway()
        ok = True
    finally:
        step("Clean up")
        for started_part in reversed(stack):
            started_part.stop()  # type: ignore[attr-defined]
        show("stopped the MCP server and the authorization server")
        subprocess.run(["gpgconf", "--kill", "all"], env=demo.env, capture_output=True)
        if options.keep:
            show(
                f"kept {workdir}: to use that plugin and store,\n"
                f"  export HOME={demo.home} DOCKER_CONFIG={demo.config} GNUPGHOME={demo.env['GNUPGHOME']}\n"
                "(the local servers are stopped: the server entry stays, its tool calls will fail)"
            )
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            show(f"removed {workdir}")
    print(f"\n{BOLD}Demo {'finished' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s{RESET}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
