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


_CONTROLS = dict.fromkeys([*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)])


def terminal_safe(text: str, keep_newlines: bool = False) -> str:
    """`text` without control characters (C0, DEL, C1: ESC sequences, OSC titles, carriage returns),
    so that nothing printed can move the cursor, clear the screen or retitle the terminal."""
    if keep_newlines:
        return "\n".join(line.translate(_CONTROLS) for line in text.split("\n"))
    return text.translate(_CONTROLS)


def untrusted_text(text: str, sent: tuple[str, ...] = (), limit: int = 200) -> str | None:
    """What may be printed of a server's text (an `error_description`, a response body): one line, at
    most `limit` characters, no control characters. None when it holds a value we sent (a client
    secret, a code, a verifier or a token, raw or form-encoded): a server that echoes a request must
    not get us to print its secrets."""
    from urllib.parse import quote, quote_plus

    for value in sent:
        spellings = (value, quote(value, safe=""), quote(value), quote_plus(value))
        if value and len(value) >= 4 and any(v in text for v in spellings):
            return None
    one_line = " ".join(text.translate({c: " " for c in _CONTROLS}).split())
    return one_line[:limit]
