"""docker mcp config read | write | reset (config.yaml: per-server settings)"""

from __future__ import annotations

import sys

from ..argv import GlobalOptions
from .spec import Argument, Command, Group


def read(g: GlobalOptions) -> None:
    from ..catalog.registry import read_config_text
    from ..catalog.store import user_mcp_dir

    sys.stdout.write(read_config_text(user_mcp_dir()))


def write(g: GlobalOptions, yaml: str) -> None:
    from ..catalog.registry import write_config
    from ..catalog.store import user_mcp_dir

    write_config(user_mcp_dir(), yaml if yaml.endswith("\n") else yaml + "\n")


def reset(g: GlobalOptions) -> None:
    from ..catalog.registry import reset_config
    from ..catalog.store import user_mcp_dir

    reset_config(user_mcp_dir())


GROUP = Group(
    "config",
    "Read and write the servers' settings (config.yaml)",
    (
        Command("read", "Print config.yaml", read, long="Print config.yaml as it is."),
        Command(
            "write",
            "Replace config.yaml with the given YAML",
            write,
            args=(Argument("YAML", "A mapping of server name to settings"),),
            example="docker mcp config write 'dockerhub: {username: alice}'",
            long="Replace config.yaml with YAML, a mapping of server name to that server's settings. Invalid YAML is refused and the file left as it was.",
        ),
        Command("reset", "Empty config.yaml", reset, long="Empty config.yaml: every server's settings are removed."),
    ),
    long="Read and write config.yaml: the settings of each server (the values its catalog entry declares under config, such as a directory or a user name), by server name. Secrets do not go here: see docker mcp secret.",
)
