"""The plugin's metadata and version, read with the standard library only.

The docker CLI runs `docker-mcp docker-cli-plugin-metadata` before every `docker mcp …` command, so this
module must stay cheap to import: no third-party modules, no importlib.metadata.
"""

from __future__ import annotations

import json
import os

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_DIST_PREFIX = "docker_mcp-"


def version() -> str:
    """The version declared in setup.cfg, as installed (dist-info) or in a source checkout."""
    parent = os.path.dirname(_PACKAGE_DIR)
    # Installed from a wheel (the zipapp included): the distribution's METADATA lies beside the package.
    for entry in os.listdir(parent):
        if entry.startswith(_DIST_PREFIX) and entry.endswith(".dist-info"):
            found = _field(os.path.join(parent, entry, "METADATA"), "Version:")
            if found:
                return found
    # A source checkout or an editable install: setup.cfg is the one place the version is written.
    found = _field(os.path.join(parent, "setup.cfg"), "version =")
    if found:
        return found
    raise RuntimeError(f"cannot determine the docker-mcp version: no dist-info or setup.cfg beside {_PACKAGE_DIR}")


def _field(path: str, prefix: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith(prefix):
                    return line[len(prefix) :].strip()
                if not line.strip() and prefix.endswith(":"):
                    break  # end of the METADATA headers
    except OSError:
        return None
    return None


def plugin_metadata() -> dict[str, str]:
    """plugin-metadata.json with Version filled in, in the Go plugin's field order."""
    with open(os.path.join(_PACKAGE_DIR, "plugin-metadata.json"), encoding="utf-8") as f:
        declared: dict[str, str] = json.load(f)
    ordered = {"SchemaVersion": declared["SchemaVersion"], "Vendor": declared["Vendor"], "Version": version()}
    ordered.update((k, v) for k, v in declared.items() if k not in ordered)
    return ordered


def render_plugin_metadata() -> str:
    """The exact bytes the docker CLI reads: the Go encoder's 5-space indent and a trailing newline."""
    return json.dumps(plugin_metadata(), indent=5) + "\n"
