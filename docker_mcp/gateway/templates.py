"""Config templates in container servers' command, env, volumes and user: `{{server.prop|fn|fn}}`, with
values from config.yaml (go-plugin-gateway.md §3.5)."""

from __future__ import annotations

import re
from typing import Any

_TERM = re.compile(r"\{\{(.*?)\}\}")


def _lookup(path: str, settings: dict[str, Any]) -> Any:
    value: Any = settings
    for part in path.strip().split("."):
        if not isinstance(value, dict) or part not in value:
            return ""
        value = value[part]
    return "" if value is None else value


def _apply(value: Any, fn: str) -> Any:
    name, _, arg = fn.strip().partition(":")
    if name == "volume":
        return [f"{v}:{v}" for v in value] if isinstance(value, list) else (f"{value}:{value}" if value else "")
    if name == "volume-target":
        return value
    if name == "into":
        return [str(v) for v in value] if isinstance(value, list) else value
    if name == "first":
        return value[0] if isinstance(value, list) and value else ("" if isinstance(value, list) else value)
    if name == "last":
        return value[-1] if isinstance(value, list) and value else ("" if isinstance(value, list) else value)
    if name == "or":
        return value if value not in ("", [], None) else arg
    if name == "mount_as":
        first = value[0] if isinstance(value, list) and value else value
        return f"{first}:{arg}" if first else ""
    raise ValueError(f"unknown template function {name!r}")


def _term(expression: str, settings: dict[str, Any]) -> Any:
    path, *fns = expression.split("|")
    value = _lookup(path, settings)
    for fn in fns:
        value = _apply(value, fn)
    return value


def render(text: str, settings: dict[str, Any]) -> Any:
    """A single `{{…}}` term gives its raw value (a list stays a list); anything else a string."""
    match = _TERM.fullmatch(text.strip())
    if match:
        return _term(match.group(1), settings)
    return _TERM.sub(lambda m: _text(_term(m.group(1), settings)), text)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)
