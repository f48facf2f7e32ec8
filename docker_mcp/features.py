"""Feature flags: the `features` map of the Docker CLI config.json (values "enabled" / "disabled")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .dockercli import config_path, load_config, update_config
from .errors import ConfigFileError, DockerMcpError


@dataclass(frozen=True)
class Feature:
    name: str
    default: bool
    description: str
    enabled_note: str  # printed after `feature enable`


KNOWN: tuple[Feature, ...] = (
    Feature(
        "mcp-oauth-dcr",
        True,
        "Enable Dynamic Client Registration (DCR) for automatic OAuth client setup",
        "Remote servers without pre-registered credentials get an OAuth client by dynamic registration.",
    ),
    Feature(
        "tool-name-prefix",
        False,
        "Prefix all tool names with the server name to avoid conflicts",
        "The gateway will name tools <server>__<tool> (a server's catalog prefix takes precedence).",
    ),
)

_TRUE = {"enabled", "1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"disabled", "0", "f", "F", "false", "FALSE", "False"}


@dataclass(frozen=True)
class FeatureState:
    name: str
    enabled: bool
    known: bool
    description: str | None


class UnknownFeatureError(DockerMcpError):
    pass


def known_feature(name: str) -> Feature:
    for f in KNOWN:
        if f.name == name:
            return f
    raise UnknownFeatureError(f"feature \"{name}\" not found: run 'docker mcp feature ls' to list them")


def _features_map(config: dict[str, Any], path: str) -> dict[str, Any]:
    features = config.get("features", {})
    if not isinstance(features, dict):
        raise ConfigFileError(f'{path}: "features" must be a JSON object of names to "enabled"/"disabled"')
    return features


def list_features(config_dir: str | None) -> list[FeatureState]:
    """Every known feature with its state, then the unknown keys found in the config."""
    path = config_path(config_dir)
    features = _features_map(load_config(path), path)
    states = [FeatureState(f.name, _parse(features.get(f.name), f.default), True, f.description) for f in KNOWN]
    known_names = {f.name for f in KNOWN}
    states += [
        FeatureState(name, _parse(value, False), False, None)
        for name, value in features.items()
        if name not in known_names
    ]
    return states


def is_enabled(config_dir: str | None, name: str) -> bool:
    """As the gateway reads flags: only "enabled" turns a feature on; unset means its default."""
    feature = known_feature(name)
    path = config_path(config_dir)
    value = _features_map(load_config(path), path).get(name)
    return feature.default if value is None else value == "enabled"


def set_feature(config_dir: str | None, name: str, enabled: bool) -> Feature:
    feature = known_feature(name)
    path = config_path(config_dir)

    def change(config: dict[str, Any]) -> None:
        features = _features_map(config, path)
        features[name] = "enabled" if enabled else "disabled"
        config["features"] = features

    update_config(path, change)
    return feature


def _parse(value: Any, default: bool) -> bool:
    if isinstance(value, str):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    return default
