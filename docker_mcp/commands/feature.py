"""docker mcp feature ls | enable NAME | disable NAME

Command modules import the library inside their handlers, so that `--help` loads only the specs.
"""

from __future__ import annotations

import sys

from ..argv import GlobalOptions
from ..output import print_json, print_table
from .listing import OPTIONS as LISTING_OPTIONS
from .listing import Listing
from .spec import Argument, Command, Group

NAME = Argument("NAME", "A feature name, as `docker mcp feature ls` lists them", complete="feature-disabled")
ENABLED = Argument("NAME", "A feature name, as `docker mcp feature ls` lists them", complete="feature-enabled")


def ls(g: GlobalOptions, format: str | None = None, json: bool = False, quiet: bool = False) -> None:
    from .. import features

    keys = ("name", "enabled", "known", "description")  # a `feature ls --format json` element
    listing = Listing("docker mcp feature ls", format, json, quiet, keys)
    states = features.list_features(g.config)
    rows = [{"name": s.name, "enabled": s.enabled, "known": s.known, "description": s.description} for s in states]
    if listing.kind == "json":
        print_json(rows)
        return
    if listing.kind != "table":
        listing.print(rows)
        return
    # `docker plugin ls`'s ENABLED column: true/false, as {{.Enabled}} prints it
    print_table(
        ("NAME", "ENABLED", "DESCRIPTION"),
        [
            (s.name, "true" if s.enabled else "false", s.description or "(unknown: not a feature of this plugin)")
            for s in states
        ],
    )


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
            options=LISTING_OPTIONS,
            aliases=("list",),
            long="List the experimental features, whether each is enabled, and what each switches.",
        ),
        Command(
            "enable",
            "Enable an experimental feature",
            enable,
            args=(NAME,),
            long="Enable an experimental feature in the Docker CLI's config.json.",
        ),
        Command(
            "disable",
            "Disable an experimental feature",
            disable,
            args=(ENABLED,),
            long="Disable an experimental feature in the Docker CLI's config.json.",
        ),
    ),
    long="Manage experimental features: switches kept in the features map of the Docker CLI's config.json.",
)
