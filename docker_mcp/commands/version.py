"""docker mcp version"""

from __future__ import annotations

import sys

from ..argv import GlobalOptions
from ..metadata import version
from ..output import print_json
from .spec import Command, Option

FORMAT = Option(("--format",), "Output format", metavar="FORMAT", choices=("json",))


def run(g: GlobalOptions, format: str | None = None) -> None:
    if format == "json":
        print_json({"version": version()})
    else:
        sys.stdout.write(version() + "\n")


COMMAND = Command("version", "Show the version information", run, options=(FORMAT,))
