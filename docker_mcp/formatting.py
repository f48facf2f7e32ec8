"""`--format` Go templates: the subset of Docker's that people type at a listing, on JSON items.

Docker's `--format` (docker/cli `cli/command/formatter`) runs a Go `text/template` per item. This module
reads only what users type with it, and says so when given more:

- `{{.Field}}`, `{{.Field.Sub}}`: a key of the item, matched without regard to case (`{{.Name}}` is
  `name`, `{{.ClientType}}` is `clientType`); scalars print as Go prints them (`true`, `42`), lists as
  `[a b]`, objects as `map[k:v]`; an absent or null value prints nothing;
- `{{json .}}`, `{{json .Field}}`: the item or a value as compact JSON (Go's `json` function); `{{.}}`
  the item as Go prints it;
- literal text, with `\\t` and `\\n` written as two characters turned into tab and newline (docker/cli
  formatter.Context.preFormat);
- a `table ` prefix: a header row of the fields' names in capitals, then the rows, aligned as Docker's
  tabwriter aligns them (minimum width 10, padding 3).

Anything else inside `{{ }}` (functions, pipes, `range`, `if`) is a TemplateError naming it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import DockerMcpError

_ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_PATH = re.compile(r"^(?:\.|(?:\.[A-Za-z_][A-Za-z0-9_]*)+)$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class TemplateError(DockerMcpError):
    """A `--format` template that does not parse, uses more than the supported subset, or names a field
    the items do not have. Exit code 1, as the docker CLI exits on a bad template."""


class _Value:
    """One `{{…}}` action: the key path (empty: the item itself) and whether `json` wraps it."""

    __slots__ = ("as_json", "label", "path")

    def __init__(self, path: tuple[str, ...], as_json: bool, label: str) -> None:
        self.path, self.as_json, self.label = path, as_json, label  # label: the header's field name


class Template:
    """A parsed `--format` template for items with the given JSON keys.

    `keys` are the keys every item may have (the JSON contract's); `aliases` maps further field names to
    one of them (`{"name": "app"}`). Raises TemplateError for a template that does not parse or names
    an unknown field, so that a command can check its `--format` before doing any work."""

    def __init__(self, text: str, keys: Sequence[str], aliases: Mapping[str, str] | None = None) -> None:
        self.table = text.startswith("table")  # docker/cli formatter.Format.IsTable
        body = text[len("table") :] if self.table else text
        body = body.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
        self._fields = {k.lower(): k for k in keys}
        self._fields.update({a.lower(): k for a, k in (aliases or {}).items()})
        self._names = [go_name(k) for k in keys] + [go_name(a) for a in (aliases or {})]
        self._labels = {n.lower(): n for n in self._names}
        self._pieces: list[str | _Value] = []
        self._headers: list[str] = []
        end = 0
        for m in _ACTION.finditer(body):
            self._literal(body[end : m.start()])
            self._pieces.append(self._action(m.group(1), m.group(0)))
            end = m.end()
        self._literal(body[end:])
        if not any(isinstance(p, _Value) for p in self._pieces):
            raise TemplateError(f"template {text!r} prints no field: use a field such as '{{{{.{self._names[0]}}}}}'")

    def _literal(self, text: str) -> None:
        if "{{" in text:
            raise TemplateError(f"template: unclosed action in {text[text.index('{{') :]!r}")
        if text:
            self._pieces.append(text)

    def _action(self, inner: str, whole: str) -> _Value:
        words = inner.split()
        as_json = len(words) == 2 and words[0] == "json"
        path = words[-1] if as_json or len(words) == 1 else ""
        if not _PATH.match(path):
            raise TemplateError(
                f"template: {whole} is not supported: use {{{{.Field}}}}, {{{{json .}}}} or {{{{json .Field}}}}"
            )
        parts = tuple(p for p in path.split(".") if p)
        if parts and parts[0].lower() not in self._fields:
            raise TemplateError(f'template: unknown field "{parts[0]}": the fields are {", ".join(self._names)}')
        label = ""
        if parts:
            label = parts[-1] if len(parts) > 1 else self._labels[parts[0].lower()]
            parts = (self._fields[parts[0].lower()], *parts[1:])
        return _Value(parts, as_json, label)

    def render(self, item: Mapping[str, Any]) -> str:
        """One item's line (without the newline)."""
        out = []
        for piece in self._pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            value = _lookup(item, piece.path)
            out.append(go_json(value) if piece.as_json else go_text(value))
        return "".join(out)

    def header(self) -> str:
        """The table's header line: each field as its name in capitals (`clientType`: CLIENT TYPE)."""
        out = []
        for piece in self._pieces:
            if isinstance(piece, str):
                out.append(piece)
            else:
                out.append(_CAMEL.sub(" ", piece.label.lstrip("_")).upper())
        return "".join(out)

    def lines(self, items: Sequence[Mapping[str, Any]]) -> str:
        """The whole output for `items`: a line each, after a header and aligned for a `table` template."""
        rows = [self.render(item) + "\n" for item in items]
        if not self.table:
            return "".join(rows)
        return tabwrite(self.header() + "\n" + "".join(rows))


# Go field names that are not their JSON key capitalised (the Go plugin's server ls ListEntry.OAuth,
# docker/mcp-gateway@2bd20fe8 cmd/docker-mcp/server/ls.go:32)
_GO_NAMES = {"oauth": "OAuth"}


def go_name(key: str) -> str:
    """A JSON key as a Go field name: `clientType` → `ClientType`, `oauth` → `OAuth`."""
    return _GO_NAMES.get(key) or key[:1].upper() + key[1:]


def _lookup(item: Any, path: tuple[str, ...]) -> Any:
    value = item
    for part in path:
        if not isinstance(value, Mapping):
            return None
        found = next((k for k in value if k.lower() == part.lower()), None)
        value = value[found] if found is not None else None
    return value


def go_text(value: Any) -> str:
    """A value as Go's fmt prints a decoded JSON value; None (absent or null) as nothing."""
    if value is None:
        return ""
    return _go_value(value)


def _go_value(value: Any) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{_go_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_go_value(v) for v in value) + "]"
    return str(value)


def go_json(value: Any) -> str:
    """Go's json.Marshal: compact, non-ASCII kept, `<`, `>` and `&` escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def tabwrite(text: str, minwidth: int = 10, padding: int = 3) -> str:
    """Go's text/tabwriter as the docker CLI configures it (`NewWriter(out, 10, 1, 3, ' ', 0)`): cells
    end at a tab; each column of consecutive lines is as wide as its widest cell plus 3, at least 10;
    the text after a line's last tab is not padded."""
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []

    def write(first: int, last: int, widths: list[int]) -> None:
        for cells in lines[first:last]:
            out.append("".join(c.ljust(widths[j]) if j < len(widths) else c for j, c in enumerate(cells)))

    def columns(first: int, last: int, widths: list[int]) -> None:
        column, this = len(widths), first
        while this < last:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write(first, this, widths)
            first, width = this, minwidth
            while this < last and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            columns(first, this, [*widths, width])
            first = this
        write(first, last, widths)

    columns(0, len(lines), [])
    return "\n".join(out)
