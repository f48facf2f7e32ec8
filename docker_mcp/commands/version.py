"""docker mcp version"""

from __future__ import annotations

import sys

from ..argv import GlobalOptions
from ..metadata import version
from ..output import print_json
from .listing import Listing
from .spec import Command, Option

FORMAT = Option(
    ("--format",),
    "Format output: table (the default, the version alone), json or a Go template such as '{{.Version}}'",
    metavar="FORMAT",
)


def run(g: GlobalOptions, format: str | None = None) -> None:
    listing = Listing("docker mcp version", format, False, False, ("version",))
    if listing.kind == "json":
        print_json({"version": version()})
    elif listing.kind == "template":
        listing.print([{"version": version()}])
    else:
        sys.stdout.write(version() + "\n")


COMMAND = Command(
    "version", "Show the version information", run, options=(FORMAT,), long="Show the version of the docker mcp plugin."
)
