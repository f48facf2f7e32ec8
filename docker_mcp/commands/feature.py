"""docker mcp feature ls | enable NAME | disable NAME

Command modules import the library inside their handlers, so that `--help` loads only the specs.
"""

from __future__ import annotations

import sys

from ..argv import GlobalOptions
from ..output import print_json
from .spec import Argument, Command, Group, Option

NAME = Argument("NAME", "A feature name, as `docker mcp feature ls` lists them")


def ls(g: GlobalOptions, format: str | None = None) -> None:
    from .. import features

    states = features.list_features(g.config)
    if format == "json":
        print_json(
            [{"name": s.name, "enabled": s.enabled, "known": s.known, "description": s.description} for s in states]
        )
        return
    out = sys.stdout
    out.write("Available experimental features:\n\n")
    for s in (s for s in states if s.known):
        out.write(f"  {s.name:<20} {'enabled' if s.enabled else 'disabled'}\n")
        out.write(f"  {'':<20} {s.description}\n\n")
    unknown = [s for s in states if not s.known]
    if unknown:
        out.write("Unknown features in configuration:\n")
        for s in unknown:
            out.write(f"  {s.name:<20} {'enabled' if s.enabled else 'disabled'} (unknown)\n")


def enable(g: GlobalOptions, name: str) -> None:
    from .. import features

    feature = features.set_feature(g.config, name, True)
    sys.stdout.write(f"Feature '{name}' enabled successfully.\n\n{feature.enabled_note}\n")


def disable(g: GlobalOptions, name: str) -> None:
    from .. import features

    features.set_feature(g.config, name, False)
    sys.stdout.write(f"Feature '{name}' disabled successfully.\n")


GROUP = Group(
    "feature",
    "Manage experimental features",
    (
        Command(
            "ls",
            "List the experimental features and whether each is enabled",
            ls,
            options=(Option(("--format",), "Output format", metavar="FORMAT", choices=("json",)),),
            aliases=("list",),
        ),
        Command("enable", "Enable an experimental feature", enable, args=(NAME,)),
        Command("disable", "Disable an experimental feature", disable, args=(NAME,)),
    ),
)
