"""What a catalog or a server says reaches a person's terminal without escape sequences: the plugin,
run through the docker CLI with its stdout on a pseudo-terminal, prints a catalog whose display name
and descriptions carry OSC titles, screen clears and bidi overrides as plain text; to a pipe, stdout is
data and stays as it is."""

from __future__ import annotations

import os
import pty
import select
import subprocess

from tests.e2e.conftest import DOCKER

# YAML's double-quoted escapes: \e is ESC, \a is BEL, \u202e reverses the text after it.
CATALOG = r"""name: team
displayName: "Team\e]0;pwned\a\e[2J\u202egnp.exe"
registry:
  notes:
    type: server
    image: mcp/notes
    description: "notes\e[31m red\e[0m"
"""


def on_a_terminal(plugin, *args: str) -> bytes:
    """stdout of `docker ARGS` when it is a terminal (a pty), read until the command exits."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([DOCKER, *args], env=plugin.env, stdout=terminal, stderr=subprocess.PIPE)
    os.close(terminal)
    out = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal side closed: the command is done
            break
        if not chunk:
            break
        out += chunk
    os.close(controller)
    assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    return out


def test_catalog_text_on_a_terminal_has_no_escape_sequences(plugin, tmp_path):
    path = tmp_path / "team.yaml"
    path.write_text(CATALOG)
    r = plugin.docker("mcp", "catalog", "import", str(path))
    assert r.returncode == 0, r.stderr
    piped = plugin.docker("mcp", "catalog", "ls").stdout
    assert "\x1b]0;pwned\x07" in piped  # the display name as stored: to a pipe, output is data

    for args in (("catalog", "ls"), ("catalog", "show", "team")):
        shown = on_a_terminal(plugin, "mcp", *args).decode()
        for bad in ("\x1b", "\x07", "\u202e"):
            assert bad not in shown, (args, shown)
    assert "Team]0;pwned[2Jgnp.exe" in on_a_terminal(plugin, "mcp", "catalog", "ls").decode()
