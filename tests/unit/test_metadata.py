from __future__ import annotations

import json

from docker_mcp.metadata import plugin_metadata, render_plugin_metadata, version
from tests.conftest import setup_cfg_version


def test_version_is_the_one_in_setup_cfg():
    assert version() == setup_cfg_version()


def test_metadata_has_the_go_plugin_field_order_and_the_version_filled_in():
    meta = plugin_metadata()
    assert list(meta) == ["SchemaVersion", "Vendor", "Version", "ShortDescription"]
    assert meta["SchemaVersion"] == "0.1.0"
    assert meta["Vendor"]
    assert meta["Version"] == setup_cfg_version()


def test_rendered_metadata_uses_five_space_indent_and_a_trailing_newline():
    text = render_plugin_metadata()
    assert text.endswith("}\n")
    assert text.splitlines()[1].startswith('     "SchemaVersion"')
    assert json.loads(text) == plugin_metadata()
