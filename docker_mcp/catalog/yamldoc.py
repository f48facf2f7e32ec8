"""Round-trip YAML with ruamel: documents keep comments, key order and line/column marks.

Errors never quote the offending text: a catalog line may hold something that should not be echoed.
"""

from __future__ import annotations

import functools
import io
import re
from typing import Any

from ..errors import DockerMcpError

MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
# Every command reads every catalog, at 60-80 µs a node with ruamel: 100,000 nodes is ~5 times Docker's
# own catalog (232 servers, 21,210 nodes, read in 1.6 s) and reads in under 10 s.
MAX_NODES = 100_000
# Scalar text that aliases may stand for: no more than a file of the size cap can hold written out.
MAX_EXPANDED_CHARS = MAX_DOCUMENT_BYTES


class DocumentError(DockerMcpError):
    """A file that is not a usable YAML/JSON document; the message starts with `file:line:col:`."""


class _Refused(Exception):
    """A document over a limit, found while composing it: `mark` (a ruamel Mark) is where."""

    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


@functools.cache
def _bounded_composer() -> Any:
    """ruamel's Composer, counting nodes as it reads and refusing a document past the limits.

    Each alias counts as the nodes (and scalar characters) of the value it names, so the count is the
    size of the document with every alias written out; it is kept in step with reading, so a "billion
    laughs" document is refused after reading at most MAX_NODES nodes. Raises `_Refused` when the text
    holds more than MAX_NODES nodes, when aliases expand past MAX_NODES nodes or MAX_EXPANDED_CHARS
    characters, or when an alias names a value that contains it (an endless expansion).
    """
    from ruamel.yaml.composer import Composer
    from ruamel.yaml.events import AliasEvent

    class BoundedComposer(Composer):
        def __init__(self, loader: Any = None) -> None:
            super().__init__(loader)
            self.written = 0  # nodes in the text
            self.nodes = 0  # nodes with every alias written out
            self.chars = 0  # scalar characters with every alias written out
            self.weights: dict[Any, tuple[int, int]] = {}  # a finished node -> its (nodes, chars)

        def compose_node(self, parent: Any, index: Any) -> Any:
            mark = self.parser.peek_event().start_mark
            if self.parser.check_event(AliasEvent):
                node = super().compose_node(parent, index)
                weight = self.weights.get(node)
                if weight is None:  # the named value is still being read: the alias is inside it
                    raise _Refused(mark, "invalid YAML: an alias refers to a value that contains it; remove the alias")
                self.nodes += weight[0]
                self.chars += weight[1]
                self._check(mark)
                return node
            nodes, chars = self.nodes, self.chars
            self.written += 1
            self.nodes += 1
            self._check(mark)
            node = super().compose_node(parent, index)
            if isinstance(node.value, str):
                self.chars += len(node.value)
                self._check(mark)
            self.weights[node] = (self.nodes - nodes, self.chars - chars)
            return node

        def _check(self, mark: Any) -> None:
            if self.written > MAX_NODES:
                raise _Refused(
                    mark,
                    f"more than {MAX_NODES} values (YAML nodes), more than a catalog may hold; "
                    "split it into several catalogs",
                )
            if self.nodes > MAX_NODES:
                raise _Refused(
                    mark,
                    f"invalid YAML: aliases expand to more than {MAX_NODES} nodes; "
                    "write the values out or remove the anchors",
                )
            if self.chars > MAX_EXPANDED_CHARS:
                raise _Refused(
                    mark,
                    f"invalid YAML: aliases expand to more than {MAX_EXPANDED_CHARS // (1024 * 1024)} MiB of text; "
                    "write the values out or remove the anchors",
                )

    return BoundedComposer


def _exact_floats(representer: Any) -> None:
    """ruamel writes a float back in the format it was read in, but may lose its last digit doing so
    (3.786420158457328e-39 became ...327e-39): keep that format only when it reads back as the same
    number, else write the shortest exact form."""
    from ruamel.yaml.scalarfloat import ScalarFloat

    keep_format = representer.represent_scalar_float

    def represent(self: Any, data: Any) -> Any:
        node = keep_format(self, data)
        try:
            exact = float(node.value) == float(data)
        except ValueError:  # .inf, .nan: written as YAML spells them
            exact = True
        if not exact:
            node.value = repr(float(data))
        return node

    representer.add_representer(ScalarFloat, represent)


def _yaml() -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    if not getattr(y.Representer, "_docker_mcp_exact_floats", False):
        _exact_floats(y.Representer)
        y.Representer._docker_mcp_exact_floats = True
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 4096
    y.preserve_quotes = True
    return y


def decode(data: bytes, source: str) -> str:
    """The bytes of a catalog or server file as text, refusing what no catalog can be."""
    check_size(len(data), source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DocumentError(
            f"{source}: not a text file (byte 0x{data[e.start]:02x} at offset {e.start} is not UTF-8); "
            "a catalog is YAML or JSON"
        ) from None
    if "\x00" in text:
        raise DocumentError(f"{source}: not a text file (it contains NUL bytes); a catalog is YAML or JSON")
    return text


def check_size(size: int, source: str) -> None:
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentError(
            f"{source}: {size} bytes is more than a catalog file may hold "
            f"({MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB); check that this is the right file"
        )


def load(text: str, source: str) -> Any:
    """Parse one YAML (or JSON) document; syntax errors become `source:line:col: invalid YAML: …`.

    Raises DocumentError also for a document of more than MAX_NODES nodes, counting each alias as the
    nodes of the value it names, or whose aliases stand for more than MAX_EXPANDED_CHARS characters:
    every reader's cost grows with that expanded size, so whatever loads here also reads back fast.
    """
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        yaml = _yaml()
        yaml.Composer = _bounded_composer()
        document = yaml.load(text)
        if "\\u" in text or "\\U" in text:  # only escapes can produce surrogates
            document = _join_surrogates(document, source)
        return document
    except _Refused as e:
        raise DocumentError(f"{source}:{e.mark.line + 1}:{e.mark.column + 1}: {e.message}") from None
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise DocumentError(f"{where}: invalid YAML: {_problem(e.problem or e.context or 'syntax error')}") from None
    except YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DocumentError(f"{source}: invalid YAML: {_problem(first)}") from None
    except RecursionError:
        raise DocumentError(f"{source}: invalid YAML: nested too deeply") from None
    except ValueError as e:  # e.g. an integer with more digits than Python converts
        raise DocumentError(f"{source}: invalid YAML: {' '.join(str(e).split())[:120]}") from None


def encode(text: str, source: str) -> bytes:
    """Text to write back; a lone surrogate (from a YAML escape such as "\\ud800") cannot be stored."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise DocumentError(
            f"{source}: contains an escaped character that is not valid Unicode (a lone surrogate)"
        ) from None


def _join_surrogates(node: Any, source: str) -> Any:
    """ruamel reads the escaped UTF-16 pair "\\ud83d\\ude00" (valid JSON for one emoji) as two lone
    surrogates; join such pairs, and refuse a lone surrogate, which no file can store."""
    if isinstance(node, str):
        if not any("\ud800" <= c <= "\udfff" for c in node):
            return node
        try:
            joined = node.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeDecodeError:
            raise DocumentError(
                f"{source}: contains an escaped character that is not valid Unicode (a lone surrogate)"
            ) from None
        return type(node)(joined) if type(node) is not str else joined
    if isinstance(node, dict):
        for key in list(node):
            _join_surrogates(key, source)
            node[key] = _join_surrogates(node[key], source)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            node[i] = _join_surrogates(value, source)
    return node


def _problem(problem: str) -> str:
    # ruamel adds the values of a duplicate key; keep the key only.
    return re.sub(r' with value ".*', "", problem, flags=re.S)


def dump(document: Any) -> str:
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


def new_map(items: dict[str, Any] | None = None) -> Any:
    from ruamel.yaml.comments import CommentedMap

    return CommentedMap(items or {})


def plain(value: Any) -> Any:
    """A ruamel node as plain dicts, lists and scalars (for JSON output)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)
