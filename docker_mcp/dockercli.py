"""The Docker CLI's configuration: its directory and config.json (features, credsStore, …).

Unlike the Go plugin, DOCKER_CONFIG and --config are honoured everywhere config.json is read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from .errors import ConfigFileError
from .fileio import atomic_write, locked


def home_dir() -> str:
    """$HOME, else the passwd entry (an MCP client may strip HOME)."""
    home = os.environ.get("HOME") or os.path.expanduser("~")
    if home and home != "~":
        return home
    raise ConfigFileError("cannot determine your home directory: set HOME")


def config_dir(explicit: str | None = None) -> str:
    """--config, else $DOCKER_CONFIG, else ~/.docker."""
    return explicit or os.environ.get("DOCKER_CONFIG") or os.path.join(home_dir(), ".docker")


def config_path(explicit: str | None = None) -> str:
    return os.path.join(config_dir(explicit), "config.json")


def load_config(path: str) -> dict[str, Any]:
    """config.json as a dict; a missing or empty file is an empty config."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigFileError(f"{path}: cannot read the Docker CLI config: {_reason(e)}") from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigFileError(
            f"{path}:{e.lineno}:{e.colno}: invalid JSON in the Docker CLI config ({e.msg}); fix or remove the file"
        ) from None
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: the Docker CLI config must be a JSON object; fix or remove the file")
    return data


def update_config(path: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Read config.json, apply `change`, write it back atomically; keys we do not know survive."""
    with locked(os.path.dirname(os.path.abspath(path)), dir_mode=0o700):
        config = load_config(path)
        change(config)
        data = (json.dumps(config, indent="\t") + "\n").encode("utf-8")
        try:
            atomic_write(path, data, mode=0o600, dir_mode=0o700)
        except OSError as e:
            raise ConfigFileError(f"failed to save configuration: {path}: {_reason(e)}") from None


def _reason(e: Exception) -> str:
    return e.strerror if isinstance(e, OSError) and e.strerror else str(e)
