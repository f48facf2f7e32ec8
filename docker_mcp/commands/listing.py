"""The output flags every listing takes, and what they ask for, in one place.

Docker's conventions (docker/cli `cli/command/formatter`, `docker context ls`): `--format table` (the
default: the command's own table), `--format json`, `--format TEMPLATE` (docker_mcp.formatting's
subset) and `-q/--quiet` (identifiers only, one a line). `--json` is the Go plugin's spelling of
`--format json`. With `-q` and a `--format`, `-q` wins and Docker's warning goes to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import UsageError
from .spec import Option

FORMAT = Option(
    ("--format",),
    "Format output: table (default), json, or a Go template such as '{{.Name}}'",
    metavar="FORMAT",
)
JSON = Option(("--json",), "Print JSON (the same as --format json)")
QUIET = Option(("-q", "--quiet"), "Only print names")
OPTIONS = (FORMAT, JSON, QUIET)


class Listing:
    """What a listing prints, chosen from its flags before it does any work.

    `kind` is `table` (the command's own output), `json`, another of `formats` (catalog's `yaml`),
    `template` or `quiet`; for the last two, `print(items)` writes the output. `keys` are the JSON keys
    of an item (the template's fields), `key` the one `-q` prints, `aliases` more field names.
    Raises UsageError (125) for `--json` with another `--format` and for a `--format` that is none of
    these and holds no `{{…}}`; TemplateError (1) for a template that does not parse or names an unknown
    field."""

    def __init__(
        self,
        command: str,
        format: str | None,
        json: bool,
        quiet: bool,
        keys: Sequence[str],
        key: str = "name",
        aliases: Mapping[str, str] | None = None,
        formats: tuple[str, ...] = ("table", "json"),  # the named formats; the first is the default
    ) -> None:
        self.key = key
        self._template: Any = None
        if json and format not in (None, "json"):
            raise UsageError(f'--json and --format "{format}" cannot be used together: use one of them', command)
        if json:
            format = "json"
        if quiet:
            if format not in (None, "table"):
                sys.stderr.write("WARNING: Ignoring custom format, because both --format and --quiet are set.\n")
            self.kind = "quiet"
        elif format is None:
            self.kind = formats[0]
        elif format in formats:
            self.kind = format
        elif "{{" in format:
            from ..formatting import Template

            self._template = Template(format, keys, aliases)
            self.kind = "template"
        else:
            example = f"'{{{{.{keys[0][:1].upper()}{keys[0][1:]}}}}}'"
            raise UsageError(
                f'--format "{format}" is not a format: use {", ".join(formats)} or a Go template such as {example}',
                command,
            )

    def print(self, items: Sequence[Mapping[str, Any]]) -> None:
        """Write `items` as `-q` or the template asks (one line each; a `table` template adds its header)."""
        if self.kind == "quiet":
            sys.stdout.write("".join(f"{item[self.key]}\n" for item in items))
        else:
            sys.stdout.write(self._template.lines(items))
