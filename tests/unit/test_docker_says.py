"""DockerSays keeps the docker CLI's own error lines from a container server's stderr, and nothing of the
server's output, through a real pipe written by a real child process."""

from __future__ import annotations

import subprocess
import sys

from docker_mcp.gateway.containers import DockerSays


def child_writes(says: DockerSays, text: str) -> None:
    copy = "import sys; sys.stderr.write(sys.stdin.read())"
    subprocess.run([sys.executable, "-c", copy], input=text, text=True, stderr=says.file, check=True)
    says.spawned()


def test_dockers_first_error_line_is_kept_and_the_servers_output_is_not():
    says = DockerSays()
    child_writes(
        says,
        "server log: API_KEY=hunter2\n"
        "docker: Error response from daemon: unable to find user nosuch\x1b[2J\n\n"
        "Run 'docker run --help' for more information\n"
        "docker: a second line\n",
    )
    assert says.said(5) == "docker: Error response from daemon: unable to find user nosuch [2J"
    says.close()


def test_a_server_that_says_nothing_of_docker_gives_nothing_and_a_huge_line_is_cut():
    says = DockerSays()
    child_writes(says, "x" * 1_000_000 + "\n" + "docker: " + "y" * 5000)  # the last line has no newline
    said = says.said(5)
    assert said.startswith("docker: yyy") and len(said) <= 300
    says.close()
    quiet = DockerSays()
    child_writes(quiet, "Traceback (most recent call last):\n  boom\n")
    assert quiet.said(5) == ""
    quiet.close()
