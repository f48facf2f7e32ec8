"""scripts/demo, the README's first command, run as a newcomer would: it exits 0, shows each step's
command and the tool call's answer, leaks no secret, and leaves no process or temporary HOME behind."""

from __future__ import annotations

import os
import re
import subprocess

from tests.conftest import ROOT


def test_the_demo_runs_the_whole_path_and_cleans_up():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([os.path.join(ROOT, "scripts", "demo")], env=env, capture_output=True, text=True, timeout=600)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    for command in (
        "$ docker mcp catalog import ./demo-notes.yaml",
        "$ docker mcp secret set demo-notes.client_secret < client-secret.txt",
        "$ docker mcp server enable demo-notes",
        "$ docker mcp oauth authorize demo-notes --open-browser --timeout 120",
        "$ docker mcp oauth ls",
        "$ docker mcp gateway run",
    ):
        assert command in out, command
    assert "registration_endpoint: none" in out  # the authorization server offers no DCR
    assert "Using pre-registered client docker-mcp-demo (dynamic client registration skipped)" in out
    assert "Authorization successful! Token stored securely." in out
    assert re.search(r"demo-notes\s+pre-registered\s+yes", out)
    assert 'tools/call notes_echo {"text": "hello from the demo"} -> hello from the demo' in out
    assert '"client_id": "docker-mcp-demo"' in out
    assert re.search(r"Demo finished in \d+ s", out)

    pid = int(re.search(r"oidc-provider, pid (\d+)", out).group(1))
    assert not os.path.exists(f"/proc/{pid}") or _zombie(pid), "the authorization server is still running"
    workdir = re.search(r"removed (/\S+)", out).group(1)
    assert not os.path.exists(workdir)


def _zombie(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ", 1)[1].startswith("Z")
