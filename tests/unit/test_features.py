from __future__ import annotations

import json
import os
import stat

import pytest

from docker_mcp import features
from docker_mcp.errors import ConfigFileError


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def test_defaults_without_a_config_file(tmp_path):
    states = {s.name: s for s in features.list_features(str(tmp_path))}
    assert states["mcp-oauth-dcr"].enabled is True
    assert states["tool-name-prefix"].enabled is False
    assert not (tmp_path / "config.json").exists()


def test_enable_writes_the_features_map_and_keeps_unknown_keys(tmp_path):
    cfg = tmp_path / "config.json"
    write(cfg, json.dumps({"auths": {"r.example": {"auth": "eA=="}}, "credsStore": "pass", "x-extra": [1, 2]}))
    features.set_feature(str(tmp_path), "tool-name-prefix", True)
    data = json.loads(read(cfg))
    assert data["features"] == {"tool-name-prefix": "enabled"}
    assert data["auths"] == {"r.example": {"auth": "eA=="}}
    assert data["credsStore"] == "pass" and data["x-extra"] == [1, 2]
    features.set_feature(str(tmp_path), "mcp-oauth-dcr", False)
    assert json.loads(read(cfg))["features"] == {"tool-name-prefix": "enabled", "mcp-oauth-dcr": "disabled"}
    assert features.is_enabled(str(tmp_path), "tool-name-prefix")
    assert not features.is_enabled(str(tmp_path), "mcp-oauth-dcr")


def test_write_keeps_the_file_mode_and_leaves_no_temporary_files(tmp_path):
    cfg = tmp_path / "config.json"
    write(cfg, "{}")
    os.chmod(cfg, 0o640)
    features.set_feature(str(tmp_path), "tool-name-prefix", True)
    assert stat.S_IMODE(os.stat(cfg).st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_new_config_file_is_private(tmp_path):
    features.set_feature(str(tmp_path / "new"), "tool-name-prefix", True)
    assert stat.S_IMODE(os.stat(tmp_path / "new" / "config.json").st_mode) == 0o600


def test_unknown_feature_is_an_error_saying_how_to_list_the_known_ones(tmp_path):
    with pytest.raises(features.UnknownFeatureError) as e:
        features.set_feature(str(tmp_path), "bogus", True)
    assert str(e.value) == "feature \"bogus\" not found: run 'docker mcp feature ls' to list them"
    assert not (tmp_path / "config.json").exists()


def test_unknown_keys_in_the_config_are_listed_as_unknown(tmp_path):
    write(tmp_path / "config.json", json.dumps({"features": {"profiles": "true", "mcp-oauth-dcr": "0"}}))
    states = {s.name: s for s in features.list_features(str(tmp_path))}
    assert states["profiles"].known is False and states["profiles"].enabled is True
    assert states["mcp-oauth-dcr"].enabled is False


def test_gateway_reads_only_enabled_as_on(tmp_path):
    write(tmp_path / "config.json", json.dumps({"features": {"tool-name-prefix": "true"}}))
    assert not features.is_enabled(str(tmp_path), "tool-name-prefix")


@pytest.mark.parametrize(
    "text,fragment",
    [
        ('{"features": ', "invalid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"features": ["a"]}', '"features" must be a JSON object'),
    ],
)
def test_a_malformed_config_is_named_and_left_unchanged(tmp_path, text, fragment):
    cfg = tmp_path / "config.json"
    write(cfg, text)
    with pytest.raises(ConfigFileError) as e:
        features.set_feature(str(tmp_path), "tool-name-prefix", True)
    assert str(cfg) in str(e.value) and fragment in str(e.value)
    assert read(cfg) == text
