"""Errors a user can act on. The CLI maps them to exit codes in one place (docker_mcp/cli.py)."""

from __future__ import annotations


class DockerMcpError(Exception):
    """A failure the user can fix; its message is one line that says what to do. Exit code 1."""

    exit_code = 1


class UsageError(DockerMcpError):
    """The command line itself is wrong (unknown command or flag, wrong arguments). Exit code 125."""

    exit_code = 125

    def __init__(self, message: str, command_path: str = "docker mcp") -> None:
        super().__init__(message)
        self.command_path = command_path


class ConfigFileError(DockerMcpError):
    """A configuration file that cannot be read or parsed; the message names the file."""
