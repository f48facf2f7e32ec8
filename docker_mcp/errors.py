"""Errors a user can act on. The CLI maps them to exit codes in one place (docker_mcp/cli.py)."""

from __future__ import annotations


class DockerMcpError(Exception):
    """A failure the user can fix; its message is one line that says what to do. Exit code 1."""

    exit_code = 1


class UsageError(DockerMcpError):
    """The command line itself is wrong (unknown command or flag, wrong arguments). Exit code 125.

    The message may span lines (the parser's errors end with a blank line and `Usage:  …`, as the docker
    CLI's do); the CLI prints it, a blank line, then `{hint} '{command_path} --help' for more
    information` — "See" after a missing argument, "Run" otherwise, as docker/cli's cli/required.go and
    FlagErrorFunc (cli/cobra.go) word them."""

    exit_code = 125

    def __init__(self, message: str, command_path: str = "docker mcp", hint: str = "Run") -> None:
        super().__init__(message)
        self.command_path, self.hint = command_path, hint


class ConfigFileError(DockerMcpError):
    """A configuration file that cannot be read or parsed; the message names the file."""


# C0 (but tab), DEL and C1 controls: escape sequences, OSC titles, carriage returns, bells; and the
# invisible format characters that reorder or hide text (bidi overrides and isolates, zero-width space,
# word joiners, BOM, soft hyphen). Zero-width (non-)joiners stay: scripts and emoji need them.
_CONTROLS = dict.fromkeys(
    [
        *(c for c in range(0x00, 0x20) if c != 0x09),
        0x7F,
        *range(0x80, 0xA0),
        0xAD,
        0x200B,
        0x200E,
        0x200F,
        *range(0x202A, 0x202F),
        *range(0x2060, 0x2065),
        *range(0x2066, 0x206A),
        0xFEFF,
    ]
)
_PARTIAL = 12  # a run this long of a sent value, anywhere in a server's text, counts as an echo of it


def terminal_safe(text: str, keep_newlines: bool = False) -> str:
    """`text` without control and invisible format characters (C0 but tab, DEL, C1, bidi overrides and
    isolates, zero-width space, BOM), so that nothing printed can move the cursor, clear the screen,
    retitle the terminal or show text in another order than it is."""
    if keep_newlines:
        return "\n".join(line.translate(_CONTROLS) for line in text.split("\n"))
    return text.translate(_CONTROLS)


def untrusted_text(text: str, sent: tuple[str, ...] = (), limit: int = 200) -> str | None:
    """What may be printed of a server's text (an `error_description`, a response body): one line, at
    most `limit` characters, terminal_safe. None when it holds a value we sent (a client secret, a
    code, a verifier, a token, a Basic header): any run of 12 characters of one (all of a shorter one),
    in any case, raw or percent- or form-decoded — a server that echoes a request, whole or in part,
    must not get us to print its secrets."""
    from urllib.parse import unquote, unquote_plus

    haystacks = {text.lower(), unquote(text).lower(), unquote_plus(text).lower()}
    for value in sent:
        if len(value) < 4:
            continue
        needle = value.lower()
        n = min(len(needle), _PARTIAL)
        runs = {needle[i : i + n] for i in range(len(needle) - n + 1)}
        if any(run in haystack for haystack in haystacks for run in runs):
            return None
    one_line = " ".join(text.translate({c: " " for c in _CONTROLS}).replace("\t", " ").split())
    return one_line[:limit]
