"""Output formatting, in one place: JSON for programs, aligned text for people. Stdout only."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any

from .errors import terminal_safe as _terminal_safe


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, allow_nan=False) + "\n")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Left-aligned columns separated by three spaces; the last column is not padded. No rows: the
    header alone, as Docker's lists print it (`docker context ls`)."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row[:-1], widths, strict=False)] + [str(row[-1])]
        sys.stdout.write("   ".join(cells).rstrip() + "\n")


def cell(text: str, width: int) -> str:
    """`text` as one table cell: its whitespace runs as one space, cut to `width` characters with `...`."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


# A query or fragment parameter whose name holds one of these (any case) carries a credential.
_CREDENTIAL_NAMES = ("token", "key", "secret", "pass", "pwd", "sig", "auth", "code", "session", "credential", "jwt")
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s\"'<>]*)@")
_PARAMETER = re.compile(r"(?P<name>[?&;#][^=&;#\s\"'<>]*=)(?P<value>[^&;#\s\"'<>]*)")


def redact_credentials(text: str) -> str:
    """`text` (a URL, or a message holding URLs) with what may be a credential replaced by `***`: a
    URL's password (`user:***@`), a user name without password (`***@`, often a token), and the value
    of each query or fragment parameter whose name contains token, key, secret, pass, pwd, sig, auth,
    code, session, credential or jwt, in any case."""

    def userinfo(m: re.Match[str]) -> str:
        user, colon, _ = m["userinfo"].partition(":")
        return m["scheme"] + (f"{user}:***@" if colon else "***@")

    def parameter(m: re.Match[str]) -> str:
        name = m["name"].lower()
        hidden = m["value"] and any(word in name for word in _CREDENTIAL_NAMES)
        return m["name"] + ("***" if hidden else m["value"])

    return _PARAMETER.sub(parameter, _USERINFO.sub(userinfo, text))


class TerminalSafeWriter:
    """A text stream that writes `terminal_safe` text (newlines and tabs kept) to the stream it wraps,
    and is that stream for everything else (fileno, buffer, isatty): catalog text, server names, tool
    results and logged server messages reach a person's terminal without escape sequences."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(_terminal_safe(text, keep_newlines=True))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
